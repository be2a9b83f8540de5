"""The A/B test API: staff read, permission holders create, start and stop; results with the verdict; clear refusals."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from mlops.experiments.models import Experiment
from predictions.models import Prediction
from tests.mlops.factories import predictions_make

pytestmark = pytest.mark.django_db

API = "/api/v1/mlops/ab-tests"


@pytest.fixture
def experimenter(client, db):
    """A staff member allowed to create, start and stop experiments."""
    user = get_user_model().objects.create_user("lead", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["add_experiment", "change_experiment"]))
    client.force_login(user)
    return client


def create(client, **fields):
    body = {"champion_version": "1", "challenger_version": "2", "challenger_share": 0.1} | fields
    return client.post(API, body, content_type="application/json")


def test_an_experiment_is_created_started_listed_and_stopped(experimenter, registered_versions):
    created = create(experimenter, name="nudged head")
    experiment_id = created.json()["experiment"]["id"]

    started = experimenter.post(f"{API}/{experiment_id}/start")
    listed = experimenter.get(API).json()
    stopped = experimenter.post(f"{API}/{experiment_id}/stop")

    assert created.status_code == 201
    assert created.json()["experiment"] | {"created_at": None} == {
        "id": experiment_id,
        "name": "nudged head",
        "champion_version": "1",
        "challenger_version": "2",
        "challenger_share": 0.1,
        "status": "draft",
        "created_at": None,
        "created_by": "lead",
        "started_at": None,
        "started_by": None,
        "stopped_at": None,
        "stopped_by": None,
    }
    assert started.status_code == 200
    assert (started.json()["experiment"]["status"], started.json()["experiment"]["started_by"]) == ("running", "lead")
    assert (listed["total"], listed["experiments"][0]["status"]) == (1, "running")
    assert (stopped.status_code, stopped.json()["experiment"]["status"]) == (200, "stopped")


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"challenger_share": 1.0}, "challenger_share", "strictly between 0 and 1"),
        ({"challenger_share": 0}, "challenger_share", "strictly between 0 and 1"),
        ({"challenger_version": "1"}, "challenger_version", "another version than the champion"),
        ({"challenger_version": "7"}, "non_field_errors", "The model registry has no version 7."),
        ({"champion_version": "one"}, "champion_version", "does not match"),
    ],
)
def test_a_bad_experiment_is_a_400_with_the_reason_and_nothing_is_stored(experimenter, registered_versions, fields, field, reason):
    response = create(experimenter, **fields)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert reason in " ".join(error["fields"][field])
    assert not Experiment.objects.exists()


def test_a_second_start_while_one_runs_is_a_409(experimenter, registered_versions):
    first = create(experimenter).json()["experiment"]["id"]
    second = create(experimenter, challenger_version="3").json()["experiment"]["id"]
    experimenter.post(f"{API}/{first}/start")

    response = experimenter.post(f"{API}/{second}/start")

    assert response.status_code == 409
    message = f"Experiment {first} is running: stop it before starting another."
    assert response.json()["error"] == {"code": "experiment_conflict", "message": message}


def test_an_unknown_experiment_is_a_404(experimenter):
    assert experimenter.get(f"{API}/999").json()["error"] == {"code": "not_found", "message": "There is no experiment 999."}
    assert experimenter.post(f"{API}/999/start").status_code == 404


def test_staff_without_the_permission_read_but_cannot_start(client, db):
    experiment = Experiment.objects.create(champion_version="1", challenger_version="2", challenger_share=0.1)
    client.force_login(get_user_model().objects.create_user("ops", is_staff=True))

    assert client.get(API).status_code == 200
    response = client.post(f"{API}/{experiment.pk}/start")
    assert response.status_code == 403
    assert Experiment.objects.get().status == "draft"


def test_members_cannot_read_experiments(client, db):
    client.force_login(get_user_model().objects.create_user("member"))

    assert client.get(API).status_code == 403


def test_results_show_both_arms_and_the_verdict(experimenter):
    experiment = Experiment.objects.create(
        champion_version="1", challenger_version="2", challenger_share=0.5, status=Experiment.Status.RUNNING
    )
    predictions_make(30, ab_experiment=experiment, ab_arm="champion", model_version="1", feedback_correct=True)
    predictions_make(10, ab_experiment=experiment, ab_arm="champion", model_version="1", feedback_correct=False)
    predictions_make(10, ab_experiment=experiment, ab_arm="challenger", model_version="2", feedback_correct=True)
    predictions_make(20, ab_experiment=experiment, ab_arm="challenger", model_version="2", feedback_correct=False)
    predictions_make(1, ab_experiment=experiment, ab_arm="challenger", status=Prediction.Status.FAILED)

    body = experimenter.get(f"{API}/{experiment.pk}").json()

    arms = {arm["arm"]: arm for arm in body["results"]["arms"]}
    assert (arms["champion"]["predictions"], arms["champion"]["accuracy"]) == (40, 0.75)
    assert (arms["challenger"]["predictions"], arms["challenger"]["error_count"]) == (30, 1)
    assert arms["challenger"]["accuracy"] == pytest.approx(1 / 3)
    assert body["results"]["verdict"]["kind"] == "challenger_worse"
    assert body["results"]["verdict"]["text"].startswith("challenger worse: accuracy 41.7 points lower")
