"""Creating, starting and stopping experiments: valid versions only, and one running at a time, enforced by the database."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from mlops.experiments.models import Experiment
from mlops.experiments.selectors import experiment_running
from mlops.experiments.services import ExperimentConflict, ExperimentInvalid, experiment_create, experiment_start, experiment_stop

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(db):
    return get_user_model().objects.create_user("ops", is_staff=True)


def test_create_makes_a_draft_of_two_registered_versions(registered_versions, ops):
    experiment = experiment_create(champion_version="1", challenger_version="2", challenger_share=0.1, name="lite v2", user=ops)

    assert (experiment.status, experiment.created_by, experiment.started_at) == (Experiment.Status.DRAFT, ops, None)
    assert experiment_running() is None


@pytest.mark.parametrize(
    ("champion", "challenger", "share", "reason"),
    [
        ("1", "9", 0.1, "no version 9"),
        ("2", "2", 0.1, "different versions"),
        ("1", "2", 1.0, "strictly between 0 and 1"),
        ("1", "2", 0.0, "strictly between 0 and 1"),
    ],
)
def test_create_refuses_what_makes_no_experiment(registered_versions, champion, challenger, share, reason):
    with pytest.raises(ExperimentInvalid, match=reason):
        experiment_create(champion_version=champion, challenger_version=challenger, challenger_share=share)

    assert not Experiment.objects.exists()


def test_start_and_stop_record_who_and_when(registered_versions, ops):
    experiment = experiment_create(champion_version="1", challenger_version="2", challenger_share=0.1)

    started = experiment_start(experiment_id=experiment.pk, user=ops)
    stopped = experiment_stop(experiment_id=experiment.pk, user=ops)

    assert (started.status, started.started_by) == (Experiment.Status.RUNNING, ops)
    assert (stopped.status, stopped.stopped_by) == (Experiment.Status.STOPPED, ops)
    assert stopped.started_at <= stopped.stopped_at


def test_a_second_experiment_cannot_start_while_one_runs(registered_versions):
    first = experiment_create(champion_version="1", challenger_version="2", challenger_share=0.1)
    second = experiment_create(champion_version="1", challenger_version="3", challenger_share=0.2)
    experiment_start(experiment_id=first.pk)

    with pytest.raises(ExperimentConflict, match=f"Experiment {first.pk} is running"):
        experiment_start(experiment_id=second.pk)

    assert experiment_running() == first
    experiment_stop(experiment_id=first.pk)
    assert experiment_start(experiment_id=second.pk).status == Experiment.Status.RUNNING


def test_the_database_itself_refuses_two_running_experiments(db):
    Experiment.objects.create(champion_version="1", challenger_version="2", challenger_share=0.1, status=Experiment.Status.RUNNING)

    with pytest.raises(IntegrityError), transaction.atomic():
        Experiment.objects.create(champion_version="1", challenger_version="3", challenger_share=0.1, status=Experiment.Status.RUNNING)


@pytest.mark.parametrize(("share", "challenger"), [(1.0, "2"), (0.0, "2"), (0.5, "1")])
def test_the_database_refuses_a_share_out_of_range_or_a_version_against_itself(db, share, challenger):
    with pytest.raises(IntegrityError), transaction.atomic():
        Experiment.objects.create(champion_version="1", challenger_version=challenger, challenger_share=share)


def test_a_stopped_experiment_does_not_start_again_and_a_draft_does_not_stop(registered_versions):
    stopped = experiment_create(champion_version="1", challenger_version="2", challenger_share=0.1)
    experiment_start(experiment_id=stopped.pk)
    experiment_stop(experiment_id=stopped.pk)
    draft = experiment_create(champion_version="1", challenger_version="2", challenger_share=0.1)

    with pytest.raises(ExperimentConflict, match="is stopped: only a draft can start"):
        experiment_start(experiment_id=stopped.pk)
    with pytest.raises(ExperimentConflict, match="is draft: only a running experiment can stop"):
        experiment_stop(experiment_id=draft.pk)
