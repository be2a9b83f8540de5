"""A filled system for the MLOps page tests (Django test client and browser): traffic, photos, feedback, a drift report
with photos that a constructed shift put there, alerts and deliveries, jobs, evaluations and model events."""

import functools
from datetime import timedelta

import numpy as np
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from mlops.drift_reports import drift_report_compute
from mlops.models import Alert, AlertDelivery, AlertRule, Evaluation, JobRun, ModelEvent
from predictions.models import Prediction
from tests.images import encode
from tests.mlops.factories import food_make, predictions_make

DIMENSION = 64


@functools.cache
def photo_bytes(colour: tuple[int, int, int], size=(320, 240)) -> bytes:
    """A plain JPEG of one colour (encoded once per colour and size: a filled system stores 150 of them)."""
    return encode(Image.new("RGB", size, colour), "JPEG", quality=85)


def with_photo(prediction: Prediction, colour=(200, 120, 40)) -> Prediction:
    prediction.image.save(f"meal-{prediction.pk}.jpg", ContentFile(photo_bytes(colour)), save=False)
    Prediction.objects.filter(pk=prediction.pk).update(image=prediction.image.name)
    return prediction


def embedded(predictions: list[Prediction], vectors: np.ndarray) -> None:
    for prediction, vector in zip(predictions, vectors, strict=True):
        prediction.embedding = vector.astype(np.float32).tobytes()
    Prediction.objects.bulk_update(predictions, ["embedding"], batch_size=500)


def shifted_photos_make() -> dict:
    """A baseline of 200 photos 10-30 days ago and 150 recent ones, 24 of which lie far away in embedding space.

    Returns the ids of those 24 and the drift report over the two windows.
    """
    rng = np.random.default_rng(7)
    now = timezone.now()
    pizza, salad = food_make("pizza"), food_make("salad")
    baseline = predictions_make(200, at=now - timedelta(days=30), spacing=timedelta(hours=2), food=pizza)
    recent = predictions_make(126, at=now - timedelta(days=3), spacing=timedelta(minutes=20), food=pizza)
    shifted = predictions_make(24, at=now - timedelta(days=2), spacing=timedelta(minutes=30), food=salad)
    embedded(baseline, rng.normal(size=(200, DIMENSION)))
    embedded(recent, rng.normal(size=(126, DIMENSION)))
    embedded(shifted, rng.normal(size=(24, DIMENSION)) + 4.0)
    for prediction in recent + shifted:
        with_photo(prediction, colour=(40, 160, 60) if prediction in shifted else (200, 120, 40))
    report = drift_report_compute(
        baseline_start=now - timedelta(days=31), baseline_end=now - timedelta(days=7), recent_start=now - timedelta(days=7),
        recent_end=now, scheduled=True,
    )  # fmt: skip
    return {"shifted_ids": {prediction.pk for prediction in shifted}, "report": report}


def ops_data_make() -> dict:
    """Everything a page can show (``shifted_photos_make`` included): traffic with errors and feedback, alerts and deliveries,
    jobs, evaluations, model events."""
    shifted_photos = shifted_photos_make()
    now = timezone.now()
    pizza, soup = food_make("pizza"), food_make("soup")
    predictions_make(30, at=now - timedelta(hours=5), spacing=timedelta(minutes=5), food=soup, confidence=0.95, session_key="s1",
                     feedback_correct=True)  # fmt: skip
    predictions_make(10, at=now - timedelta(hours=4), food=pizza, confidence=0.7, model_version="2", feedback_correct=False,
                     feedback_food=soup)  # fmt: skip
    predictions_make(3, at=now - timedelta(hours=2), status=Prediction.Status.FAILED, latency=1.2)
    predictions_make(2, at=now - timedelta(hours=1), status=Prediction.Status.REJECTED, latency=0.01)
    rule = AlertRule.objects.create(name="High error rate", metric="error_rate_percent", operator="gt", threshold=10.0)
    quiet = AlertRule.objects.create(name="Slow responses (p95)", metric="p95_response_time_seconds", operator="gt", threshold=5.0)
    alert = Alert.objects.create(rule=rule, value=12.5, last_value=14.0, message="error rate 12.5 % > 10 %")
    AlertDelivery.objects.create(alert=alert, channel="webhook", target="https://hooks.example.com/ops", delivered=False, attempts=3,
                                 error="connection refused")  # fmt: skip
    resolved = Alert.objects.create(rule=quiet, value=6.1, last_value=1.0, status=Alert.Status.RESOLVED, resolved_at=now)
    JobRun.objects.create(name="mirror_batch", status=JobRun.Status.SUCCEEDED, finished_at=now, items=120)
    JobRun.objects.create(name="drift_report", status=JobRun.Status.FAILED, finished_at=now, error="OperationalError: database is locked")
    details = {
        "labels": ["pizza", "salad", "soup"],
        "per_class": {
            "pizza": {"precision": 0.9, "recall": 0.8, "f1_score": 0.847, "support": 10},
            "salad": {"precision": 0.5, "recall": 0.6, "f1_score": 0.545, "support": 5},
            "soup": {"precision": 0.95, "recall": 1.0, "f1_score": 0.974, "support": 20},
        },
        "confusion_matrix": {"labels": ["pizza", "salad", "soup", "(other)"], "rows": [[8, 2, 0, 0], [2, 3, 0, 0], [0, 0, 20, 0]]},
    }
    for version, accuracy in (("1", 0.71), ("2", 0.8)):
        Evaluation.objects.create(model_name="food-classifier", model_version=version, source="dataset", accuracy=accuracy,
                                  precision=accuracy - 0.02, recall=accuracy - 0.03, f1_score=accuracy - 0.025, sample_count=35,
                                  details=details)  # fmt: skip
    ModelEvent.objects.create(kind=ModelEvent.Kind.SWITCHED, model_name="food-classifier", model_version="2", alias="champion",
                              message="alias moved")  # fmt: skip
    return {**shifted_photos, "alert": alert, "resolved": resolved}
