"""The one builder of Prediction rows for tests and benchmarks (bulk_create, no network, no model).

``prediction_row`` makes an unsaved row with the defaults of a served, mirrored prediction;
``predictions_insert`` stores rows at chosen times; ``predictions_make`` does both for ``count`` alike rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import Case, DateTimeField, Value, When
from django.utils import timezone

from predictions.models import Food, Prediction

STATUS_CODES = {Prediction.Status.OK: 200, Prediction.Status.REJECTED: 400, Prediction.Status.FAILED: 500}
# Rows per UPDATE when moving rows to their times: well under SQLite's limit on query parameters.
UPDATE_CHUNK = 500


def food_make(key: str) -> Food:
    food, _ = Food.objects.get_or_create(key=key, defaults={"display_name": key.replace("_", " ").capitalize()})
    return food


def prediction_row(
    *,
    status: str = Prediction.Status.OK,
    food: Food | None = None,
    confidence: float | None = 0.9,
    latency: float | None = 0.2,
    model_version: str | None = None,
    user=None,
    session_key: str = "",
    feedback_correct: bool | None = None,
    feedback_food: Food | None = None,
    mirrored: bool = True,
    **fields,
) -> Prediction:
    """An unsaved row. A failure (rejected, failed) gets its status code, no confidence and, unless given, no food or model."""
    ok = status == Prediction.Status.OK
    return Prediction(
        status=status,
        status_code=STATUS_CODES[status],
        food=food,
        confidence=confidence if ok else None,
        processing_time_seconds=latency,
        model_name="food-classifier" if ok or model_version else "",
        model_version=model_version if model_version is not None else ("1" if ok else ""),
        user=user,
        session_key=session_key,
        feedback_correct=feedback_correct,
        feedback_food=feedback_food,
        feedback_at=timezone.now() if feedback_correct is not None else None,
        mirrored_at=timezone.now() if mirrored and ok else None,
        **fields,
    )


def predictions_insert(
    rows: Sequence[Prediction], *, at: datetime | None = None, spacing: timedelta = timedelta(seconds=1)
) -> list[Prediction]:
    """Store ``rows`` created at ``at``, ``at + spacing``, ... (default: five minutes ago, a second apart)."""
    at = at or timezone.now() - timedelta(minutes=5)
    created = Prediction.objects.bulk_create(rows, batch_size=2000)
    for index, prediction in enumerate(created):
        prediction.created_at = at + index * spacing
    # created_at is auto_now_add, so bulk_create stamped now: move the rows to their times afterwards.
    for start in range(0, len(created), UPDATE_CHUNK):
        chunk = created[start : start + UPDATE_CHUNK]
        times = Case(*[When(pk=row.pk, then=Value(row.created_at)) for row in chunk], output_field=DateTimeField())
        Prediction.objects.filter(pk__in=[row.pk for row in chunk]).update(created_at=times)
    return created


def predictions_make(count: int = 1, *, at: datetime | None = None, spacing: timedelta = timedelta(seconds=1), **row) -> list[Prediction]:
    """``count`` rows alike (``prediction_row``'s arguments), created at ``at``, ``at + spacing``, ..."""
    return predictions_insert([prediction_row(**row) for _ in range(count)], at=at, spacing=spacing)
