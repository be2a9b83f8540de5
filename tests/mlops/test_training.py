"""Training on a generated labelled set: the version it registers, serving it after promotion, evaluating it."""

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from mlops.datasets import dataset_scan
from mlops.mlflow_store import registry
from mlops.models import Evaluation
from mlops.services import bundled_model_register
from mlops.training import TrainingConfig, train
from predictions.models import Food

from .shapes import SHAPES, shape_image, write_shapes_dataset

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

SMALL_RECIPE = ["--image-size", "96", "--views", "2", "--head-epochs", "10", "--epochs", "3", "--batch-size", "32", "--threads", "2"]


def png_of_a_red_disc() -> bytes:
    buffer = io.BytesIO()
    kind, colour = SHAPES["red_disc"]
    shape_image(kind, colour, np.random.default_rng(99), size=64).save(buffer, format="PNG")
    return buffer.getvalue()


def predict(client) -> dict:
    response = client.post("/api/v1/predict", {"image": io.BytesIO(png_of_a_red_disc())}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["prediction"]


@pytest.mark.slow
def test_trained_challenger_serves_after_promotion_and_evaluates(served_from_registry, mlflow_client, tmp_path, client):
    dataset = write_shapes_dataset(tmp_path / "shapes", per_class=30, size=64)
    bundled_model_register()
    assert predict(client)["model"]["version"] == "1"

    output = io.StringIO()
    call_command("train", str(dataset), *SMALL_RECIPE, stdout=output, verbosity=0)

    challenger = registry.alias_resolve("challenger")
    assert challenger.version == "2"
    assert "Registered food-classifier version 2 with alias challenger" in output.getvalue()
    run = mlflow_client.get_run(challenger.run_id)
    assert run.data.tags["run_type"] == "training"
    assert run.data.metrics["accuracy"] >= 0.75  # chance is 0.25
    assert {"precision", "recall", "f1_score", "probe_accuracy", "precision_red_disc"} <= set(run.data.metrics)
    assert [point.step for point in mlflow_client.get_metric_history(run.info.run_id, "test_accuracy")] == [1, 2, 3]
    temperature = run.data.metrics["temperature"]
    assert temperature > 0 and {"ece_before_temperature", "ece_after_temperature"} <= set(run.data.metrics)
    assert float(mlflow_client.get_model_version("food-classifier", "2").tags["temperature"]) == pytest.approx(temperature)
    assert registry.classifier_load(challenger).manifest.temperature == pytest.approx(temperature)  # what serving applies
    assert f"Temperature {temperature:.3f} fitted on the test split" in output.getvalue()
    logged = {artifact.path for artifact in mlflow_client.list_artifacts(run.info.run_id)}
    assert {"confusion_matrix.png", "per_class_metrics.json", "model"} <= logged
    shapes = Food.objects.filter(key__in=list(SHAPES))
    assert shapes.count() == 4 and not any(food.has_nutrition for food in shapes)

    call_command("promote", "--version", "2", "--reason", "trained on the shapes", "--override", stdout=io.StringIO())
    assert served_from_registry.refresh() == "switched"
    served = predict(client)
    assert served["model"] == {"name": "food-classifier", "version": "2", "sha256": challenger.sha256}
    assert served["food"]["key"] == "red_disc"

    call_command("evaluate", "--dataset", str(dataset), stdout=io.StringIO(), verbosity=0)
    evaluation = Evaluation.objects.get(source="dataset")
    assert (evaluation.model_version, evaluation.sample_count) == ("2", 120)
    assert evaluation.accuracy >= 0.75
    assert evaluation.details["tta"] is True  # each photo and its mirror image, averaged
    evaluation_run = mlflow_client.get_run(evaluation.mlflow_run_id)
    assert evaluation_run.data.tags["run_type"] == "evaluation"
    assert evaluation_run.data.tags["model_version"] == "2"
    assert {"accuracy", "precision", "recall", "f1_score", "temperature", "ece_before_temperature"} <= set(evaluation_run.data.metrics)
    assert evaluation.details["temperature"]["temperature_samples"] == 120


@pytest.mark.slow
def test_same_seed_gives_the_same_weights_whether_the_cache_is_computed_here_or_by_workers_in_memory_or_on_disk(
    tmp_path, bundled_state_dict
):
    split = dataset_scan(write_shapes_dataset(tmp_path / "shapes", per_class=8, size=48), seed=0)
    config = TrainingConfig(image_size=64, views=3, head_epochs=3, epochs=2, batch_size=16, threads=2, workers=0)
    said: list[str] = []

    first = train(split, config, base_state_dict=bundled_state_dict, progress=False, log=said.append)
    on_disk = replace(config, workers=2, cache_memory_gb=0, cache_dir=str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    second = train(split, on_disk, base_state_dict=bundled_state_dict, progress=False, log=said.append)

    assert (first.params["cache_on_disk"], second.params["cache_on_disk"]) == (False, True)
    assert any("streaming it from disk" in line for line in said)
    assert list((tmp_path / "cache").iterdir()) == []  # the on-disk cache is removed after the run
    assert first.report.accuracy == second.report.accuracy
    assert first.calibration == second.calibration
    assert first.manifest.temperature == first.calibration.temperature > 0
    assert all(first.state_dict[key].equal(second.state_dict[key]) for key in first.state_dict)


@pytest.mark.slow
def test_a_tiny_time_budget_cuts_views_and_epochs(tmp_path, bundled_state_dict):
    split = dataset_scan(write_shapes_dataset(tmp_path / "shapes", per_class=8, size=48), seed=0)
    config = TrainingConfig(image_size=64, views=4, head_epochs=2, epochs=5, batch_size=16, threads=2, time_budget_minutes=0.001)
    said: list[str] = []

    result = train(split, config, base_state_dict=bundled_state_dict, progress=False, log=said.append)

    assert (result.params["views_used"], result.params["epochs_run"]) == (1, 1)
    assert any("instead of 4" in line for line in said) and any("instead of 5" in line for line in said)


def test_evaluate_on_feedback_logs_the_four_metrics(mlflow_client):
    from .factories import food_make, predictions_make

    pizza, sushi = food_make("pizza"), food_make("sushi")
    predictions_make(3, food=pizza, model_version="1", feedback_correct=True)
    predictions_make(1, food=pizza, model_version="1", feedback_correct=False, feedback_food=sushi)

    call_command("evaluate", "--feedback", "--version", "1", stdout=io.StringIO())

    evaluation = Evaluation.objects.get(source="feedback")
    assert (evaluation.accuracy, evaluation.sample_count) == (0.75, 4)
    metrics = mlflow_client.get_run(evaluation.mlflow_run_id).data.metrics
    assert {name: metrics[name] for name in ("accuracy", "precision", "recall", "f1_score")} == {
        "accuracy": 0.75, "precision": evaluation.precision, "recall": evaluation.recall, "f1_score": evaluation.f1_score,
    }


def test_feedback_performance_in_the_api_agrees_with_evaluate_on_feedback(mlflow_client, staff_client):
    from .factories import food_make, predictions_make

    pizza, salad, sushi = food_make("pizza"), food_make("salad"), food_make("sushi")
    predictions_make(3, food=pizza, feedback_correct=True)
    predictions_make(1, food=pizza, feedback_correct=False, feedback_food=sushi)
    predictions_make(2, food=salad, feedback_correct=False, feedback_text=" Pizza ")  # typed, yet the catalogue's pizza
    predictions_make(1, food=salad, feedback_correct=False, feedback_text="Crab cakes")  # a food the catalogue lacks
    predictions_make(1, food=None, confidence=None, no_food=True, feedback_correct=True)
    predictions_make(2, food=sushi, model_version="2", feedback_correct=True)

    call_command("evaluate", "--feedback", "--version", "1", stdout=io.StringIO())
    live = staff_client.get("/api/v1/mlops/monitoring/performance").json()["data"]["feedback"]["per_model_version"]

    evaluation = Evaluation.objects.get(source="feedback")
    stored = {name: getattr(evaluation, name) for name in ("accuracy", "precision", "recall", "f1_score", "sample_count")}
    # truth/said: pizza/pizza x3, sushi/pizza, pizza/salad x2, crab_cakes/salad, no_food/no_food; macro over the 4 true classes.
    expected = {"accuracy": 0.5, "precision": 1.75 / 4, "recall": 1.6 / 4, "f1_score": (2 / 3 + 1) / 4, "sample_count": 8}
    assert stored == pytest.approx(expected, abs=1e-6)
    version_1 = next(item for item in live if item["model_version"] == "1")
    assert {name: version_1[name] for name in stored} == pytest.approx(stored, abs=1e-6)


def test_train_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    from django.core.management.base import CommandError

    (tmp_path / "empty").mkdir()

    with pytest.raises(CommandError, match="at least two"):
        call_command("train", str(Path(tmp_path / "empty")), stdout=io.StringIO())
