"""Small builders of Prediction rows for monitoring tests (bulk_create, no network, no model)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from predictions.models import Food, Prediction


def food_make(key: str) -> Food:
    food, _ = Food.objects.get_or_create(key=key, defaults={"display_name": key.replace("_", " ").capitalize()})
    return food


def predictions_make(
    count: int = 1,
    *,
    at: datetime | None = None,
    spacing: timedelta = timedelta(seconds=1),
    status: str = Prediction.Status.OK,
    food: Food | None = None,
    confidence: float | None = 0.9,
    latency: float | None = 0.2,
    model_version: str = "1",
    user=None,
    session_key: str = "",
    feedback_correct: bool | None = None,
    feedback_food: Food | None = None,
    mirrored: bool = True,
    **fields,
) -> list[Prediction]:
    """``count`` rows created at ``at``, ``at + spacing``, ...; errors get the right status code and no food."""
    at = at or timezone.now() - timedelta(minutes=5)
    ok = status == Prediction.Status.OK
    status_code = {Prediction.Status.OK: 200, Prediction.Status.REJECTED: 400, Prediction.Status.FAILED: 500}[status]
    rows = [
        Prediction(
            status=status,
            status_code=status_code,
            food=food if ok else None,
            confidence=confidence if ok else None,
            processing_time_seconds=latency,
            model_name="food-classifier" if ok else "",
            model_version=model_version if ok else "",
            user=user,
            session_key=session_key,
            feedback_correct=feedback_correct,
            feedback_food=feedback_food,
            feedback_at=timezone.now() if feedback_correct is not None else None,
            mirrored_at=timezone.now() if mirrored and ok else None,
            **fields,
        )
        for _ in range(count)
    ]
    created = Prediction.objects.bulk_create(rows)
    # created_at is auto_now_add: set the intended times afterwards, one UPDATE per row.
    for index, prediction in enumerate(created):
        prediction.created_at = at + index * spacing
        Prediction.objects.filter(pk=prediction.pk).update(created_at=prediction.created_at)
    return created
