"""The original project's React MLOps page, replayed: its eight calls with their parameters, and every field it reads.

The page fetches these in one Promise.all and renders them with expressions such as
``Object.entries(metrics.top_foods)``, ``Math.max(...Object.values(metrics.top_foods))``,
``new Date(run.start_time)``, ``new Date(version.timestamp)`` and ``(x * 100).toFixed(1)``;
each assertion below stands for one of those expressions.
"""

from datetime import datetime, timedelta
from numbers import Real

import pytest
from django.utils import timezone

from mlops.models import Evaluation

from .factories import food_make, predictions_make

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

API = "/api/v1/mlops/"
# (what the page's api helper is called, path, query parameters)
ORIGINAL_CALLS = [
    ("getMLOpsMetrics()", "metrics", {}),
    ("getExperimentRuns(20, 'prediction')", "runs", {"limit": 20, "run_type": "prediction"}),
    ("getPredictionMonitoring()", "monitoring/predictions", {}),
    ("getConfidenceDistribution(10)", "monitoring/confidence", {"bins": 10}),
    ("getModelPerformance()", "monitoring/performance", {}),
    ("getDriftDetection()", "monitoring/drift", {}),
    ("getSystemHealth()", "monitoring/health", {}),
    ("getModelVersions()", "model-versions", {}),
]


def is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def is_date(value) -> bool:
    """What `new Date(value)` turns into a real date: an ISO 8601 string (null would be 1 January 1970)."""
    if not isinstance(value, str):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@pytest.fixture
def replayed(staff_client, mlflow_client, settings):
    """The page's calls against traffic of the last hour and of ten days ago, a registered version without evaluation and one with."""
    now = timezone.now()
    pizza, salad = food_make("pizza"), food_make("salad")
    predictions_make(40, at=now - timedelta(days=10), food=pizza, confidence=0.93, session_key="a")
    predictions_make(30, at=now - timedelta(minutes=50), food=salad, confidence=0.85, session_key="b", latency=0.3)
    predictions_make(10, at=now - timedelta(minutes=20), food=pizza, confidence=0.6, session_key="c")
    name = settings.MLFLOW_REGISTERED_MODEL_NAME
    mlflow_client.create_registered_model(name)
    for _ in range(2):
        mlflow_client.create_model_version(name, source="file:///nowhere", tags={"sha256": "ab" * 32})
    Evaluation.objects.create(
        model_name=name, model_version="2", source="dataset", accuracy=0.8, precision=0.79, recall=0.78, f1_score=0.785, sample_count=50
    )
    bodies = {}
    for call, path, params in ORIGINAL_CALLS:
        response = staff_client.get(API + path, params)
        assert response.status_code == 200, (call, response.content[:300])
        bodies[call] = response.json()
    return bodies


def test_top_foods_is_a_mapping_of_food_to_count_and_every_model_version_has_a_date(replayed):
    metrics = replayed["getMLOpsMetrics()"]["metrics"]
    versions = replayed["getModelVersions()"]["model_versions"]

    assert {body["status"] for body in replayed.values()} == {"success"}
    assert metrics["top_foods"] == {"Pizza": 50, "Salad": 30}
    assert list(metrics["top_foods"]) == ["Pizza", "Salad"]  # most frequent first
    assert metrics["top_foods_ranked"][0] == {"food": "pizza", "name": "Pizza", "count": 50}
    assert [version["model_version"] for version in versions] == ["1", "2"]
    assert all(is_date(version["timestamp"]) for version in versions)  # version 1 has no evaluation: its registration time


def test_every_other_field_the_page_reads_keeps_its_type(replayed):
    overview = replayed["getMLOpsMetrics()"]["metrics"]["overview"]
    runs = replayed["getExperimentRuns(20, 'prediction')"]["runs"]
    versions = replayed["getModelVersions()"]["model_versions"]
    health = replayed["getSystemHealth()"]["data"]
    drift = replayed["getDriftDetection()"]["data"]
    confidence = replayed["getConfidenceDistribution(10)"]["data"]

    assert all(is_number(value) for value in overview.values())
    assert len(runs) == 20
    assert all(is_date(run["start_time"]) for run in runs)
    assert all(isinstance(run["params"]["food_name"], str) and isinstance(run["params"]["user_id"], str) for run in runs)
    assert all(is_number(run["metrics"]["confidence"]) and is_number(run["metrics"]["processing_time_seconds"]) for run in runs)
    assert all(is_number(versions[1]["metrics"][name]) for name in ("accuracy", "precision", "recall", "f1_score"))
    assert health["status"] in ("healthy", "degraded", "unhealthy", "unknown")
    assert all(is_number(health["metrics"][name]) for name in ("avg_response_time_seconds", "p95_response_time_seconds",
                                                                "error_rate_percent", "total_requests"))  # fmt: skip
    assert isinstance(health["recommendations"], list)
    assert isinstance(drift["drift_detected"], bool)
    assert all(is_number(drift[name]) for name in ("drift_score", "threshold", "window_days"))
    assert isinstance(drift["recommendation"], str)
    assert len(confidence["bins"]) == len(confidence["counts"]) == 10
    assert all(isinstance(label, str) for label in confidence["bins"])
    assert is_number(confidence["statistics"]["mean"]) and is_number(confidence["statistics"]["median"])
    assert isinstance(replayed["getModelPerformance()"]["data"], dict)
    assert isinstance(replayed["getPredictionMonitoring()"]["data"], dict)
