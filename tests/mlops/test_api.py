"""The monitoring API keeps the original design's paths and envelopes, filters, and refuses non-staff."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from mlops.models import Evaluation
from predictions.models import Prediction
from tests.support.mlflow import mlflow_store_at
from tests.support.network import unused_port

from .factories import food_make, predictions_make

pytestmark = pytest.mark.django_db

API = "/api/v1/mlops/"
DATABASE_ENDPOINTS = [
    "metrics",
    "monitoring/predictions",
    "monitoring/confidence",
    "monitoring/performance",
    "monitoring/health",
    "metrics/history?metric_name=confidence",
    "runs?run_type=prediction",
]


@pytest.fixture
def traffic(db):
    """Two days of predictions: version 1 two days ago, version 2 today, a few errors, some feedback."""
    pizza, salad, soup = food_make("pizza"), food_make("salad"), food_make("soup")
    alice = get_user_model().objects.create_user("alice")
    now = timezone.now()
    predictions_make(6, at=now - timedelta(days=2), food=pizza, confidence=0.9, model_version="1", user=alice, feedback_correct=True)
    predictions_make(
        4,
        at=now - timedelta(days=2) + timedelta(hours=1),
        food=salad,
        confidence=0.6,
        model_version="1",
        session_key="s1",
        feedback_correct=False,
        feedback_food=soup,
    )
    predictions_make(5, at=now - timedelta(minutes=30), food=soup, confidence=0.8, model_version="2", session_key="s2", latency=0.3)
    predictions_make(2, at=now - timedelta(minutes=20), status=Prediction.Status.REJECTED, latency=0.01)
    predictions_make(1, at=now - timedelta(minutes=10), status=Prediction.Status.FAILED, latency=1.0)
    return now


def get(client, path, **params):
    response = client.get(API + path, params)
    return response, response.json()


@pytest.mark.parametrize("path", DATABASE_ENDPOINTS + ["experiments", "model-versions", "monitoring/drift"])
def test_anonymous_callers_are_asked_to_authenticate(client, path):
    response = client.get(API + path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("parameter", ["start", "end", "model_version", "limit"])
def test_a_parameter_given_empty_is_a_400_not_ignored(staff_client, parameter):
    response = staff_client.get(API + f"metrics/history?metric_name=confidence&{parameter}=")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {parameter: ["Give a value, or leave the parameter out."]}


def test_the_schema_says_end_must_be_after_start(client):
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    bad_request = schema["paths"]["/api/v1/mlops/metrics"]["get"]["responses"]["400"]["description"]
    assert "end is not after start" in bad_request


def test_a_bad_token_is_a_401_with_the_reason(client, db):
    response = client.get(API + "metrics", HTTP_AUTHORIZATION="Token not-a-real-token")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["message"] == "Invalid token."


@pytest.mark.parametrize("path", DATABASE_ENDPOINTS + ["experiments", "model-versions", "monitoring/drift"])
def test_signed_in_non_staff_are_forbidden(member_client, path):
    assert member_client.get(API + path).status_code == 403


def test_non_staff_cannot_register_a_model(member_client):
    response = member_client.post(
        API + "register-model",
        {"model_version": "1", "accuracy": 0.9, "precision": 0.9, "recall": 0.9, "f1_score": 0.9},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert not Evaluation.objects.exists()


def test_metrics_has_the_original_overview_over_all_predictions(staff_client, traffic):
    response, body = get(staff_client, "metrics")

    assert response.status_code == 200
    assert body["status"] == "success"
    overview = body["metrics"]["overview"]
    assert overview == {
        "total_predictions": 15,
        "avg_confidence": pytest.approx((6 * 0.9 + 4 * 0.6 + 5 * 0.8) / 15),
        "unique_foods": 3,
        "unique_users": 3,
    }
    assert set(body["metrics"]["confidence"]) == {"avg", "min", "max"}
    assert body["metrics"]["top_foods"]["Pizza"] == 6
    assert body["metrics"]["top_foods_ranked"][0] == {"food": "pizza", "name": "Pizza", "count": 6}
    assert sum(body["metrics"]["predictions_by_day"].values()) == 15
    assert "timestamp" in body["metrics"]


def test_model_version_filter_narrows_every_statistic(staff_client, traffic):
    _, body = get(staff_client, "monitoring/predictions", model_version="2")

    assert body["data"]["total_predictions"] == 5
    assert body["data"]["by_food"] == [{"food": "soup", "name": "Soup", "count": 5}]
    assert body["data"]["unique_users"] == 1
    assert body["data"]["predictions_per_user"] == {"min": 5, "max": 5, "avg": 5.0}


def test_start_and_end_filter_by_creation_time(staff_client, traffic):
    _, body = get(staff_client, "monitoring/predictions", start=(traffic - timedelta(hours=1)).isoformat())

    assert body["data"]["total_predictions"] == 5
    assert len(body["data"]["by_day"]) == 1


def test_predictions_per_user_counts_signed_in_users_and_anonymous_sessions(staff_client, traffic):
    _, body = get(staff_client, "monitoring/predictions")

    assert body["data"]["unique_users"] == 3
    assert body["data"]["predictions_per_user"] == {"min": 4, "max": 6, "avg": 5.0}


def test_confidence_histogram_has_labelled_bins_and_statistics(staff_client, traffic):
    _, body = get(staff_client, "monitoring/confidence", bins=5)

    data = body["data"]
    assert data["bins"] == ["0.00-0.20", "0.20-0.40", "0.40-0.60", "0.60-0.80", "0.80-1.00"]
    assert data["counts"] == [0, 0, 0, 4, 11]
    assert data["total"] == 15
    assert set(data["statistics"]) == {"mean", "median", "std", "min", "max"}
    assert data["statistics"]["median"] == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("monitoring/confidence", {"bins": 4}, "bins"),
        ("monitoring/confidence", {"bins": "many"}, "bins"),
        ("runs", {"limit": 501}, "limit"),
        ("runs", {"run_type": "banana"}, "run_type"),
        ("monitoring/drift", {"window_days": 0}, "window_days"),
        ("monitoring/drift", {"threshold": 2}, "threshold"),
        ("metrics/history", {}, "metric_name"),
        ("metrics/history", {"metric_name": "happiness"}, "metric_name"),
        ("metrics/history", {"metric_name": "confidence", "limit": 0}, "limit"),
        ("metrics", {"start": "yesterday"}, "start"),
        ("metrics", {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "end"),
        ("metrics", {"model_version": "1' or '1"}, "model_version"),
    ],
)
def test_bad_parameters_are_400_with_the_reason(staff_client, path, params, field):
    response, body = get(staff_client, path, **params)

    assert response.status_code == 400
    assert body["status"] == "error"
    assert field in body["error"]["message"]


def test_health_reports_real_errors_and_latency_of_the_window(staff_client, traffic):
    response, body = get(staff_client, "monitoring/health")

    assert response.status_code == 200
    data = body["data"]
    metrics = data["metrics"]
    assert metrics["total_requests"] == 8
    assert metrics["error_count"] == 1
    assert metrics["client_error_count"] == 2
    assert metrics["server_error_count"] == 1
    assert metrics["error_rate_percent"] == pytest.approx(12.5)  # 1 failure in 8 requests: above the 10 % alert line
    assert metrics["client_error_rate_percent"] == pytest.approx(25.0)
    assert set(metrics) >= {"avg_response_time_seconds", "p95_response_time_seconds", "p99_response_time_seconds", "throughput_per_minute"}
    assert data["status"] == "unhealthy"
    assert set(data["components"]) == {"worker", "broker", "mlflow", "mirror"}
    assert data["recommendations"]
    assert "timestamp" in data


def test_rejected_uploads_alone_leave_the_system_healthy(staff_client, db):
    predictions_make(7, food=food_make("pizza"))
    predictions_make(3, status=Prediction.Status.REJECTED, latency=0.01)

    _, body = get(staff_client, "monitoring/health")

    data = body["data"]
    assert data["status"] == "healthy"
    assert (data["metrics"]["error_count"], data["metrics"]["error_rate_percent"]) == (0, 0.0)
    assert data["metrics"]["client_error_rate_percent"] == pytest.approx(30.0)
    assert any("rejected uploads" in advice for advice in data["recommendations"])


def test_health_is_unknown_without_requests(staff_client):
    _, body = get(staff_client, "monitoring/health")

    assert body["data"]["status"] == "unknown"


@pytest.fixture
def mlflow_down(settings, tmp_path):
    with mlflow_store_at(settings, f"http://127.0.0.1:{unused_port()}", tmp_path / "artifacts"):
        yield


def test_drift_computed_on_demand_is_stored_without_mlflow_or_a_worker_heartbeat(staff_client, mlflow_down, settings):
    from mlops.health import worker_state
    from mlops.models import DriftReport, JobRun

    settings.NUTRILEARN_DRIFT_THRESHOLD = 0.3
    now = timezone.now()
    predictions_make(40, at=now - timedelta(days=10), spacing=timedelta(minutes=30), food=food_make("pizza"))
    predictions_make(40, at=now - timedelta(days=2), spacing=timedelta(minutes=30), food=food_make("soup"))

    response, body = get(staff_client, "monitoring/drift")

    assert response.status_code == 200
    data = body["data"]
    assert data["threshold"] == 0.3
    assert (data["baseline_predictions"], data["recent_predictions"]) == (40, 40)
    assert data["mlflow_run_id"] == ""
    assert DriftReport.objects.get(pk=data["report_id"]).results["scheduled"] is False
    assert not JobRun.objects.exists()
    assert worker_state()["ok"] is False


def test_recent_predictions_look_like_the_original_runs(staff_client, traffic):
    _, body = get(staff_client, "runs", run_type="prediction", limit=3)

    assert body["total"] == 3
    assert body["limit"] == 3
    run = body["runs"][0]
    assert run["params"]["food_name"] == "Soup"
    assert run["params"]["user_id"] == "anonymous"
    assert run["metrics"] == {"confidence": 0.8, "processing_time_seconds": 0.3}
    assert {"run_id", "experiment_id", "status", "start_time", "end_time", "tags", "prediction_id", "mlflow_run_id"} <= set(run)


def test_metric_history_returns_the_last_points_oldest_first(staff_client, traffic):
    _, body = get(staff_client, "metrics/history", metric_name="confidence", limit=7)

    assert body["metric_name"] == "confidence"
    assert body["total_points"] == 7
    values = [point["value"] for point in body["data"]]
    assert values == [0.6, 0.6] + [0.8] * 5
    timestamps = [point["timestamp"] for point in body["data"]]
    assert timestamps == sorted(timestamps)


def test_performance_measures_feedback_and_calibration_per_version(staff_client, traffic):
    _, body = get(staff_client, "monitoring/performance")

    data = body["data"]
    assert data["trend"] == "no_data"
    assert data["total_evaluations"] == 0
    assert data["history"] == []
    version_1 = data["feedback"]["per_model_version"][0]
    assert version_1["model_version"] == "1"
    assert version_1["accuracy"] == pytest.approx(0.6)
    assert version_1["sample_count"] == 10
    calibration = {item["model_version"]: item for item in data["calibration"]}
    assert calibration["1"]["label_count"] == 10
    # 0.9-confident and right (6), 0.6-confident and wrong (4): gaps 0.1 and 0.6.
    assert calibration["1"]["expected_calibration_error"] == pytest.approx((6 * 0.1 + 4 * 0.6) / 10)
    estimate = calibration["2"]["accuracy_estimate"]
    assert estimate["prediction_count"] == 5
    assert estimate["estimated_accuracy"] == pytest.approx(0.8)
    assert estimate["measured_label_count"] == 0


def test_performance_trend_follows_the_evaluation_history(staff_client, db):
    Evaluation.objects.create(
        model_name="food-classifier",
        model_version="1",
        source="dataset",
        accuracy=0.70,
        precision=0.7,
        recall=0.7,
        f1_score=0.7,
        sample_count=2000,
    )
    Evaluation.objects.create(
        model_name="food-classifier",
        model_version="2",
        source="dataset",
        accuracy=0.80,
        precision=0.8,
        recall=0.8,
        f1_score=0.8,
        sample_count=2000,
    )

    _, body = get(staff_client, "monitoring/performance")

    data = body["data"]
    assert data["trend"] == "improving"
    assert data["total_evaluations"] == 2
    assert data["current"]["model_version"] == "2"
    assert [point["accuracy"] for point in data["history"]] == [0.7, 0.8]
    assert data["trend_test"]["significant"] is True


def test_register_model_with_a_session_needs_the_csrf_token(db):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(get_user_model().objects.create_user("ops", is_staff=True))

    response = browser.post(
        API + "register-model",
        {"model_version": "1", "accuracy": 0.9, "precision": 0.9, "recall": 0.9, "f1_score": 0.9},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert not Evaluation.objects.exists()


def test_a_staff_token_is_accepted_without_a_session(client, db):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=get_user_model().objects.create_user("robot", is_staff=True))

    response = client.get(API + "monitoring/predictions", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 200


def test_a_model_version_outside_ascii_letters_digits_and_dot_dash_underscore_is_a_400(staff_client):
    # Found by Schemathesis: Python's \w accepted letters of any script while the schema's pattern does not.
    response = staff_client.get("/api/v1/mlops/monitoring/health", {"model_version": "갩J"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
