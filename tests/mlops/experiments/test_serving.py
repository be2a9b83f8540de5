"""Uploads during an A/B test: the real network answers, each row records its arm and the version that answered."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from mlops.experiments.assignment import arm_for, stable_id
from mlops.experiments.services import experiment_create, experiment_start, experiment_stop
from mlops.models import ModelEvent
from mlops.services import bundled_model_register
from predictions.models import Prediction
from tests.support.registry import register_variant

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

# Close enough to 1 that a session lands on the challenger unless one in a million ids says otherwise.
ALMOST_ALL = 0.999999


def upload(client, photo: bytes):
    response = client.post("/api/v1/predict", {"image": SimpleUploadedFile("meal.png", photo, content_type="image/png")})
    assert response.status_code == 201, response.content
    return Prediction.objects.get(pk=response.json()["prediction"]["id"])


@pytest.fixture
def challenger_version(served_from_registry, tmp_path, nudged_state_dict) -> str:
    """Version 1 (the bundled network) is the champion; version 2, the same network nudged, is registered beside it."""
    bundled_model_register()
    return register_variant(tmp_path / "v2", nudged_state_dict).version


def running(challenger: str, share: float):
    experiment = experiment_create(champion_version="1", challenger_version=challenger, challenger_share=share)
    return experiment_start(experiment_id=experiment.pk)


def test_anonymous_uploads_over_many_sessions_reach_both_arms_each_answered_by_its_version(
    catalogue, challenger_version, coffee_png, challenger_released
):
    experiment = running(challenger_version, 0.5)

    rows = [upload(Client(), coffee_png) for _ in range(16)]

    expected = [
        arm_for(experiment_id=experiment.pk, unit=stable_id(user_id=None, session_key=row.session_key), challenger_share=0.5)
        for row in rows
    ]
    assert all(row.session_key for row in rows)
    assert [row.ab_arm for row in rows] == expected
    assert {row.ab_arm for row in rows} == {"champion", "challenger"}
    assert {(row.ab_arm, row.model_version) for row in rows} == {("champion", "1"), ("challenger", challenger_version)}
    assert {row.ab_experiment_id for row in rows} == {experiment.pk}
    assert challenger_released.loaded().version == challenger_version


def test_a_signed_in_user_keeps_the_arm_of_the_account(catalogue, challenger_version, coffee_png):
    experiment = running(challenger_version, ALMOST_ALL)
    user = get_user_model().objects.create_user("meals")
    client = Client()
    client.force_login(user)

    first, second = upload(client, coffee_png), upload(client, coffee_png)

    arm = arm_for(experiment_id=experiment.pk, unit=f"user:{user.pk}", challenger_share=ALMOST_ALL)
    assert (first.ab_arm, second.ab_arm) == (arm, arm) == ("challenger", "challenger")
    assert first.model_version == second.model_version == challenger_version


def test_a_challenger_that_fails_its_smoke_test_leaves_the_champion_answering_as_fallback(
    catalogue, served_from_registry, tmp_path, broken_state_dict, coffee_png, challenger_released
):
    bundled_model_register()
    broken = register_variant(tmp_path / "broken", broken_state_dict).version
    running(broken, ALMOST_ALL)

    row = upload(Client(), coffee_png)

    assert (row.ab_arm, row.model_version, row.food.key) == ("fallback", "1", "espresso")
    assert challenger_released.loaded() is None
    refused = ModelEvent.objects.get(kind=ModelEvent.Kind.REFUSED, alias="challenger")
    assert refused.model_version == broken
    assert "the champion answers the challenger's arm" in refused.message


def test_after_the_experiment_stops_the_champion_answers_alone_and_the_challenger_is_released(
    catalogue, challenger_version, coffee_png, challenger_released
):
    experiment = running(challenger_version, ALMOST_ALL)
    client = Client()
    during = upload(client, coffee_png)
    experiment_stop(experiment_id=experiment.pk)

    after = upload(client, coffee_png)

    assert (during.ab_arm, during.model_version) == ("challenger", challenger_version)
    assert (after.ab_arm, after.ab_experiment_id, after.model_version) == ("", None, "1")
    assert challenger_released.loaded() is None


def test_a_rejected_upload_during_an_experiment_counts_in_its_arm(catalogue, challenger_version):
    running(challenger_version, ALMOST_ALL)

    response = Client().post("/api/v1/predict", {"image": SimpleUploadedFile("meal.jpg", b"not a photo", content_type="image/jpeg")})

    assert response.status_code == 400
    row = Prediction.objects.get()
    assert (row.status, row.ab_arm) == (Prediction.Status.REJECTED, "challenger")
