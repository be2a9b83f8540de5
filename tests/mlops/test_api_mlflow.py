"""The endpoints that read MLflow, against a real (throwaway, SQLite-backed) MLflow store."""

from urllib.parse import urlencode

import pytest

from mlops import mlflow_store
from mlops.models import Evaluation

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

API = "/api/v1/mlops/"
SCORES = {"accuracy": 0.81, "precision": 0.8, "recall": 0.79, "f1_score": 0.795}


@pytest.fixture
def three_versions(mlflow_client, settings):
    """The registered model with versions 1, 2 and 3 (their artefacts are never read here)."""
    mlflow_client.create_registered_model(settings.MLFLOW_REGISTERED_MODEL_NAME)
    for _ in range(3):
        mlflow_client.create_model_version(settings.MLFLOW_REGISTERED_MODEL_NAME, source="file:///nowhere")


def register(client, **extra):
    return client.post(API + "register-model", {"model_version": "3", **SCORES, **extra}, content_type="application/json")


def test_register_model_records_an_evaluation_run_readable_through_the_other_endpoints(staff_client, mlflow_client, three_versions):
    response = register(staff_client, sample_count=500)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    assert body["metrics"] == SCORES
    evaluation = Evaluation.objects.get()
    assert (evaluation.model_version, evaluation.source, evaluation.mlflow_run_id) == ("3", "manual", body["run_id"])
    assert mlflow_client.get_run(body["run_id"]).data.metrics["accuracy"] == 0.81

    runs = staff_client.get(API + "runs", {"run_type": "evaluation"}).json()
    assert [run["run_id"] for run in runs["runs"]] == [body["run_id"]]
    assert runs["runs"][0]["metrics"]["f1_score"] == 0.795
    assert runs["runs"][0]["end_time"] is not None

    history = staff_client.get(API + "metrics/history", {"metric_name": "accuracy"}).json()
    assert [point["value"] for point in history["data"]] == [0.81]


def test_register_model_refuses_scores_outside_zero_to_one(staff_client, mlflow_client, three_versions):
    response = register(staff_client, accuracy=81)

    assert response.status_code == 400
    assert "accuracy" in response.json()["error"]["message"]
    assert not Evaluation.objects.exists()


def test_register_model_refuses_a_version_the_registry_does_not_have(staff_client, mlflow_client, three_versions):
    runs_before = len(mlflow_client.search_runs([mlflow_store.experiment_id()]))

    response = register(staff_client, model_version="4")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_model_version"
    assert "version 4" in response.json()["error"]["message"]
    assert not Evaluation.objects.exists()
    assert len(mlflow_client.search_runs([mlflow_store.experiment_id()])) == runs_before


def test_register_model_refuses_version_zero_and_a_model_the_registry_does_not_have(staff_client, mlflow_client, three_versions):
    zero = register(staff_client, model_version="0")
    other_model = register(staff_client, model_name="no-such-model", model_version="1")

    assert zero.status_code == 400
    assert "model_version" in zero.json()["error"]["fields"]
    assert other_model.status_code == 404
    assert not Evaluation.objects.exists()


def test_register_model_refuses_an_empty_model_name_sent_as_a_form(staff_client, mlflow_client, three_versions):
    form = urlencode({"model_version": "3", "model_name": "", **SCORES})

    response = staff_client.post(API + "register-model", form, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"model_name": ["Give a value, or leave the parameter out."]}
    assert not Evaluation.objects.exists()


def test_experiments_lists_the_project_experiment_and_the_tracking_uri(staff_client, mlflow_client, settings):
    mlflow_store.experiment_id()

    body = staff_client.get(API + "experiments").json()

    assert body["tracking_uri"] == settings.MLFLOW_TRACKING_URI
    names = [experiment["name"] for experiment in body["experiments"]]
    assert settings.MLFLOW_EXPERIMENT_NAME in names
    assert {"experiment_id", "name", "artifact_location", "lifecycle_stage", "tags"} <= set(body["experiments"][0])


def test_model_versions_join_the_registry_with_the_latest_evaluation(staff_client, mlflow_client, settings):
    name = settings.MLFLOW_REGISTERED_MODEL_NAME
    mlflow_client.create_registered_model(name)
    mlflow_client.create_model_version(name, source="file:///nowhere", tags={"sha256": "ab" * 32})
    mlflow_client.set_registered_model_alias(name, "champion", "1")
    Evaluation.objects.create(model_name=name, model_version="1", source="dataset", sample_count=100, **SCORES)
    Evaluation.objects.create(model_name=name, model_version="bundled", source="feedback", **{**SCORES, "accuracy": 0.5})

    body = staff_client.get(API + "model-versions").json()

    assert body["total"] == 2
    first, bundled = body["model_versions"]
    assert first["model_version"] == "1"
    assert first["aliases"] == ["champion"]
    assert first["sha256"] == "ab" * 32
    assert first["metrics"] == SCORES
    assert first["status"] == "registered"
    assert bundled["model_version"] == "bundled"
    assert bundled["status"] == "unregistered"
    assert bundled["metrics"]["accuracy"] == 0.5


def test_an_unreachable_tracking_store_is_a_503_with_the_reason(staff_client, settings):
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"
    mlflow_store.reset_client()
    try:
        response = staff_client.get(API + "experiments")
    finally:
        mlflow_store.reset_client()

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "tracking_unavailable"


def test_a_request_the_registry_refuses_is_a_400_not_a_503(staff_client, mlflow_client, settings):
    settings.MLFLOW_REGISTERED_MODEL_NAME = "food'classifier"  # a quote MLflow's filter grammar refuses

    response = staff_client.get(API + "model-versions")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "mlflow_rejected"
    assert "refused" in response.json()["error"]["message"]


def test_drift_without_data_says_why(staff_client, mlflow_client):
    body = staff_client.get(API + "monitoring/drift").json()

    assert body["data"]["drift_detected"] is False
    assert body["data"]["reason"] == "no_baseline_data"
    assert body["data"]["window_days"] == 7


def test_drift_between_windows_has_the_original_fields_and_reuses_its_stored_report(staff_client, mlflow_client):
    from datetime import timedelta

    from django.utils import timezone

    from .factories import food_make, predictions_make

    now = timezone.now()
    predictions_make(60, at=now - timedelta(days=20), spacing=timedelta(minutes=30), food=food_make("pizza"), confidence=0.9)
    predictions_make(60, at=now - timedelta(days=3), spacing=timedelta(minutes=30), food=food_make("soup"), confidence=0.5)

    first = staff_client.get(API + "monitoring/drift", {"window_days": 7, "threshold": 0.2}).json()["data"]
    again = staff_client.get(API + "monitoring/drift", {"window_days": 7, "threshold": 0.2}).json()["data"]

    assert first["drift_detected"] is True
    assert first["drift_score"] > 0.2
    assert first["threshold"] == 0.2
    assert (first["baseline_predictions"], first["recent_predictions"]) == (60, 60)
    assert first["top_recent_foods"] == {"Soup": 60}
    assert first["top_baseline_foods"] == {"Pizza": 60}
    assert first["recommendation"]
    assert "reason" not in first
    assert again["report_id"] == first["report_id"]


@pytest.mark.parametrize("name", ["mlops/models.html", "food:classifier", "..food", "."])
def test_a_model_name_the_registry_would_refuse_is_a_400_naming_the_field(staff_client, mlflow_client, three_versions, name):
    # Found by Schemathesis: MLflow refuses such names, so the schema must not promise them.
    response = register(staff_client, model_name=name)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "model_name" in response.json()["error"]["fields"]
    assert not Evaluation.objects.exists()
