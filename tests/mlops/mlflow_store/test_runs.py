"""Comparing two MLflow runs and reading a metric's history across runs, against a real MLflow store."""

import pytest

from mlops.mlflow_store import MlflowRejected, runs
from mlops.models import Evaluation
from mlops.services import evaluation_record

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def logged_run(metrics: dict, params: dict | None = None, *, run_type: str = "training") -> str:
    run_id = runs.run_start(run_type=run_type, run_name="test run", tags={"model_version": "7"})
    runs.run_log_params(run_id, params or {})
    runs.run_log_metrics(run_id, metrics)
    runs.run_finish(run_id)
    return run_id


def test_comparison_says_which_run_is_better_metric_by_metric(mlflow_client):
    older = logged_run({"accuracy": 0.70, "f1_score": 0.68, "train_loss": 0.9, "probe_accuracy": 0.6}, {"epochs": "4"})
    newer = logged_run({"accuracy": 0.82, "f1_score": 0.80, "train_loss": 0.5}, {"epochs": "8"})

    comparison = runs.compare_models(older, newer)

    assert comparison["better_run"] == "run_b"
    assert comparison["metrics"]["accuracy"]["difference"] == pytest.approx(0.12)
    assert comparison["metrics"]["train_loss"]["better"] == "run_b"  # lower loss wins
    assert comparison["only_in_run_a"] == ["probe_accuracy"]
    assert comparison["params_changed"] == {"epochs": {"run_a": "4", "run_b": "8"}}
    assert comparison["run_a"]["run_id"] == older


def test_comparing_an_unknown_run_is_rejected(mlflow_client):
    known = logged_run({"accuracy": 0.5})

    with pytest.raises(MlflowRejected):
        runs.compare_models(known, "0" * 32)


def test_metric_history_lists_runs_with_that_metric_oldest_first(mlflow_client):
    logged_run({"accuracy": 0.5})
    logged_run({"latency": 0.2})
    logged_run({"accuracy": 0.7})
    logged_run({"accuracy": 0.9})

    history = runs.metric_history_get(metric_name="accuracy", limit=2)

    assert [point["value"] for point in history] == [0.7, 0.9]
    assert history[0]["run_type"] == "training" and history[0]["model_version"] == "7"


def test_evaluation_record_writes_the_row_and_an_evaluation_run(mlflow_client):
    evaluation = evaluation_record(
        model_name="food-classifier", model_version="3", source=Evaluation.Source.MANUAL,
        accuracy=0.8, precision=0.7, recall=0.6, f1_score=0.65, sample_count=40, details={"note": "by hand"},
    )

    run = mlflow_client.get_run(evaluation.mlflow_run_id)
    assert run.data.tags["run_type"] == "evaluation" and run.data.tags["model_version"] == "3"
    assert {key: run.data.metrics[key] for key in ("accuracy", "precision", "recall", "f1_score")} == {
        "accuracy": 0.8, "precision": 0.7, "recall": 0.6, "f1_score": 0.65,
    }
    assert Evaluation.objects.get().sample_count == 40
