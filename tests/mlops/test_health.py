from datetime import timedelta

import pytest
from django.utils import timezone

from mlops.health import health_status, mirror_state, worker_state
from mlops.models import JobRun

from .factories import predictions_make


@pytest.mark.parametrize(
    ("avg", "error_rate", "status"),
    [
        (0.5, 1.0, "healthy"),
        (2.0, 5.0, "healthy"),
        (2.1, 0.0, "degraded"),
        (0.5, 5.1, "degraded"),
        (5.1, 0.0, "unhealthy"),
        (0.5, 10.1, "unhealthy"),
        (3.0, 12.0, "unhealthy"),
    ],
)
def test_status_follows_the_original_thresholds(avg, error_rate, status):
    assert health_status(total_requests=100, avg_response_time_seconds=avg, error_rate_percent=error_rate) == status


def test_status_is_unknown_without_requests():
    assert health_status(total_requests=0, avg_response_time_seconds=None, error_rate_percent=0.0) == "unknown"


@pytest.mark.django_db
def test_worker_is_stale_when_no_job_ran_recently():
    job = JobRun.objects.create(name="mirror_sweep", status=JobRun.Status.SUCCEEDED)
    assert worker_state()["ok"] is True

    JobRun.objects.filter(pk=job.pk).update(started_at=timezone.now() - timedelta(hours=1))

    state = worker_state()
    assert state["ok"] is False
    assert "is a worker" in state["detail"]


@pytest.mark.django_db
def test_worker_state_says_so_when_no_job_ever_ran():
    assert worker_state() == {"ok": False, "detail": "no background job has run yet", "last_job": None}


@pytest.mark.django_db
def test_mirror_is_behind_when_the_oldest_unmirrored_prediction_is_old():
    predictions_make(3, at=timezone.now() - timedelta(hours=2), mirrored=False)

    state = mirror_state(stale_after_seconds=900)

    assert state["ok"] is False
    assert state["count"] == 3


@pytest.mark.django_db
def test_liveness_and_readiness_are_separate(client, settings):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["checks"]["database"]["ok"] is True
