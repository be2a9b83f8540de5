"""Writes of shadow mode: the challenger's answer to a stored photo, the sweep of unanswered ones, a person's verdict."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from predictions.models import Prediction
from predictions.services import food_ensure

from ..labelling.models import Label
from ..labelling.services import label_record
from .models import ShadowPrediction
from .serving import challenger_get

logger = logging.getLogger(__name__)


def _same_answer(*, prediction: Prediction, food_key: str | None, no_food: bool) -> bool:
    if prediction.no_food or no_food:
        return prediction.no_food == no_food
    return prediction.food is not None and prediction.food.key == food_key


def shadow_predict(*, prediction_id: int) -> ShadowPrediction | None:
    """The challenger's answer to a prediction's stored photo, stored once; idempotent (an existing answer is returned).

    None, with nothing stored, when the prediction is gone, failed, has no photo (or its file is unreadable), or was
    answered by the challenger's own version. Raises ChallengerUnavailable when there is no challenger to ask.
    """
    existing = ShadowPrediction.objects.filter(prediction_id=prediction_id).first()
    if existing is not None:
        return existing
    prediction = Prediction.objects.select_related("food").filter(pk=prediction_id, status=Prediction.Status.OK).first()
    if prediction is None or not prediction.image:
        return None
    challenger = challenger_get()
    if challenger.version == prediction.model_version:
        return None
    started = time.perf_counter()
    try:
        with default_storage.open(prediction.image.name) as photo:
            image = Image.open(photo)
            image.load()
    except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
        logger.warning("shadow: the photo of prediction %s cannot be read: %s", prediction_id, exc)
        return None
    classifier = challenger.classifier
    probabilities, pooled = classifier.forward(classifier.preprocess(image.convert("RGB")).unsqueeze(0))
    recognition = classifier.interpret(
        probabilities[0], pooled[0], food_mass_threshold=settings.NUTRILEARN_FOOD_MASS_THRESHOLD, top_k=settings.NUTRILEARN_TOP_K
    )
    foods = {food.key: food for food in food_ensure(keys=[score.key for score in recognition.top_k])}
    try:
        with transaction.atomic():
            return ShadowPrediction.objects.create(
                prediction=prediction,
                model_name=challenger.name,
                model_version=challenger.version,
                model_sha256=challenger.sha256,
                food=foods.get(recognition.food_key) if recognition.food_key else None,
                no_food=recognition.no_food,
                confidence=recognition.confidence,
                food_mass=recognition.food_mass,
                top_k=[{"food": score.key, "confidence": score.confidence} for score in recognition.top_k],
                processing_time_seconds=round(time.perf_counter() - started, 6),
                agrees=_same_answer(prediction=prediction, food_key=recognition.food_key, no_food=recognition.no_food),
            )
    except IntegrityError:  # a retry or the sweeper answered it meanwhile
        return ShadowPrediction.objects.get(prediction_id=prediction_id)


def shadow_unanswered(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Ids of photos uploaded in the look-back window, past the grace period, that have no shadow answer yet, oldest first."""
    now = now or timezone.now()
    start = now - timedelta(hours=settings.NUTRILEARN_SHADOW_LOOKBACK_HOURS)
    end = now - timedelta(seconds=settings.NUTRILEARN_SHADOW_GRACE_SECONDS)
    rows = Prediction.objects.filter(status=Prediction.Status.OK, created_at__gte=start, created_at__lt=end, shadow__isnull=True)
    return list(rows.exclude(image="").order_by("created_at", "id").values_list("id", flat=True)[:limit])


def shadow_sweep(*, now: datetime | None = None, limit: int = 200) -> int:
    """Answer photos whose shadow task was lost (broker down, worker died); returns how many were answered.

    Does nothing when shadow mode is off. Raises ChallengerUnavailable when there is no challenger (nothing is lost:
    the photos stay unanswered until one is registered, within the look-back window).
    """
    if not settings.NUTRILEARN_SHADOW_ENABLED:
        return 0
    answered = 0
    for prediction_id in shadow_unanswered(now=now, limit=limit):
        answered += shadow_predict(prediction_id=prediction_id) is not None
    return answered


class ReviewInvalid(ValueError):
    """The verdict cannot be recorded; the message says why."""


def shadow_review(*, shadow: ShadowPrediction, verdict: str, user) -> Label | None:
    """Record a person's verdict on a disagreement; the right answer ("champion" or "challenger") becomes a label.

    "neither" records the verdict without a label, leaving the photo in the labelling queue. A later verdict replaces
    the earlier one on the shadow row (labels accumulate; the latest stands). Returns the label, if any.
    """
    if verdict not in ShadowPrediction.Verdict.values:
        raise ReviewInvalid(f"The verdict must be one of {', '.join(ShadowPrediction.Verdict.values)}, not {verdict!r}.")
    prediction = shadow.prediction
    with transaction.atomic():
        ShadowPrediction.objects.filter(pk=shadow.pk).update(verdict=verdict, reviewed_by=user, reviewed_at=timezone.now())
        if verdict == ShadowPrediction.Verdict.NEITHER:
            return None
        if verdict == ShadowPrediction.Verdict.CHAMPION:
            no_food, food = prediction.no_food, prediction.food
        else:
            no_food, food = shadow.no_food, shadow.food
        if not no_food and food is None:
            raise ReviewInvalid("That answer names no food to record as the label.")
        return label_record(
            prediction=prediction,
            source=Label.Source.SHADOW_REVIEW,
            user=user,
            food_key="" if no_food else food.key,
            not_food=no_food,
        )
