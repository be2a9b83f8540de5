"""Every background job records itself the same way: a running row, then its outcome, error, items and duration."""

import pytest

from mlops.jobs import Job, job_recorded
from mlops.models import JobRun

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_a_run_is_visible_as_running_while_it_works_and_succeeded_with_its_items_and_duration_after():
    with job_recorded(Job.ROLLUPS_REFRESH, details={"asked": 3}) as record:
        during = JobRun.objects.get()
        record.items = 3
        record.details["done"] = 3

    after = JobRun.objects.get()
    assert (during.name, during.status, during.finished_at) == ("monitoring_rollups_refresh", "running", None)
    assert (after.status, after.items, after.details, after.error) == ("succeeded", 3, {"asked": 3, "done": 3}, "")
    assert after.finished_at is not None and after.duration_seconds >= 0


def test_a_run_that_raises_is_recorded_failed_with_the_error_and_traceback_and_the_error_goes_on():
    with pytest.raises(Boom), job_recorded(Job.DRIFT_REPORT):
        raise Boom("the windows are empty")

    run = JobRun.objects.get()
    assert (run.status, run.error) == ("failed", "Boom: the windows are empty")
    assert "raise Boom" in run.traceback


def test_the_job_may_say_what_went_wrong_in_its_own_words_before_raising():
    with pytest.raises(Boom), job_recorded(Job.MIRROR_BATCH) as record:
        record.error = "database unavailable: locked"
        raise Boom("locked")

    assert JobRun.objects.get().error == "database unavailable: locked"


def test_a_failure_the_job_handled_is_recorded_without_raising():
    with job_recorded(Job.MIRROR_BATCH) as record:
        record.fail("MLflow refused the batch")

    run = JobRun.objects.get()
    assert (run.status, run.error, run.traceback) == ("failed", "MLflow refused the batch", "")


def test_a_run_with_nothing_worth_keeping_leaves_no_record_unless_it_fails():
    with job_recorded(Job.ALERTS_EVALUATE) as record:
        record.forget_if_succeeded()
    with pytest.raises(Boom), job_recorded(Job.ALERTS_EVALUATE) as record:
        record.forget_if_succeeded()
        raise Boom("rule metric unknown")

    assert list(JobRun.objects.values_list("status", flat=True)) == ["failed"]
