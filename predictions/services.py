"""Writes of the predictions app: recognising a photo, recording refusals, feedback."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from mlops.experiments.serving import enrolment_for, model_for
from mlops.labelling.services import label_from_feedback
from mlops.mirror import mirror_enqueue
from mlops.shadow.enqueue import shadow_enqueue

from .images import DecodedImage, ImageRejected, Limits, decode_upload, encode_for_storage, quality_hints
from .inference import ModelUnavailable
from .models import Food, Prediction

logger = logging.getLogger(__name__)

CATALOGUE_PATH = Path(__file__).resolve().parent / "data" / "food_catalogue.json"


def upload_limits() -> Limits:
    return Limits(
        max_bytes=settings.NUTRILEARN_MAX_UPLOAD_BYTES,
        max_pixels=settings.NUTRILEARN_MAX_PIXELS,
        min_side=settings.NUTRILEARN_MIN_SIDE,
        max_side=settings.NUTRILEARN_MAX_SIDE,
        max_aspect_ratio=settings.NUTRILEARN_MAX_ASPECT_RATIO,
    )


def _owner(user) -> dict:
    return {"user": user if user is not None and user.is_authenticated else None}


def prediction_create(*, data: bytes, user, session_key: str, source: str, started: float | None = None) -> Prediction:
    """Validate, decode and recognise one photo, and store the Prediction row.

    Raises ImageRejected for bad input (a rejected row is recorded, without the image)
    and ModelUnavailable when no model can serve (a failed row is recorded).
    """
    started = time.perf_counter() if started is None else started
    # Hashing and re-encoding release the GIL: they run on a spare core while the
    # photo is decoded and recognised (inference uses its own thread budget).
    digest = _side_work().submit(_sha256_hex, data)
    try:
        decoded = decode_upload(data, limits=upload_limits())
    except ImageRejected as exc:
        prediction_record_refusal(
            status=Prediction.Status.REJECTED,
            status_code=exc.status,
            reason_code=exc.code,
            reason=exc.message,
            user=user,
            session_key=session_key,
            source=source,
            size_bytes=len(data),
            started=started,
        )
        raise
    enrolment = enrolment_for(user=user, session_key=session_key)
    try:
        served, arm = model_for(enrolment=enrolment)
    except ModelUnavailable as exc:
        prediction_record_refusal(
            status=Prediction.Status.FAILED,
            status_code=503,
            reason_code="model_unavailable",
            reason=str(exc),
            user=user,
            session_key=session_key,
            source=source,
            size_bytes=len(data),
            started=started,
        )
        raise
    classifier = served.classifier
    batch = classifier.preprocess(decoded.image).unsqueeze(0)
    stored = _side_work().submit(encode_for_storage, decoded.image, max_side=settings.NUTRILEARN_STORED_IMAGE_MAX_SIDE)
    probabilities, pooled = classifier.forward(batch)
    recognition = classifier.interpret(
        probabilities[0], pooled[0], food_mass_threshold=settings.NUTRILEARN_FOOD_MASS_THRESHOLD, top_k=settings.NUTRILEARN_TOP_K
    )
    keys = [score.key for score in recognition.top_k]
    foods = {food.key: food for food in Food.objects.filter(key__in=keys)}
    if len(foods) < len(keys):
        foods = {food.key: food for food in food_ensure(keys=keys)}
    prediction = Prediction(
        status=Prediction.Status.OK,
        source=source,
        session_key=session_key or "",
        food=foods.get(recognition.food_key) if recognition.food_key else None,
        confidence=recognition.confidence,
        top_k=[{"food": score.key, "confidence": score.confidence} for score in recognition.top_k],
        no_food=recognition.no_food,
        food_mass=recognition.food_mass,
        model_name=served.name,
        model_version=served.version,
        model_sha256=served.sha256,
        ab_experiment_id=enrolment.experiment_id,
        ab_arm=arm,
        image_sha256=digest.result(),
        **_image_fields(decoded),
        embedding=recognition.embedding.tobytes(),
        **_owner(user),
    )
    prediction.image.save(f"{uuid.uuid4().hex}.jpg", ContentFile(stored.result()), save=False)
    # Everything the server did for this photo except the row's own INSERT.
    prediction.processing_time_seconds = round(time.perf_counter() - started, 6)
    try:
        with transaction.atomic():
            prediction.save()
            # Mirroring into MLflow happens in a worker; publishing never blocks or fails the upload.
            transaction.on_commit(mirror_enqueue, robust=True)
            # The challenger answers the same photo in a worker, after the response (when shadow mode is on).
            transaction.on_commit(functools.partial(shadow_enqueue, prediction_id=prediction.pk), robust=True)
    except Exception:
        prediction.image.delete(save=False)
        raise
    return prediction


@functools.cache
def _side_work() -> ThreadPoolExecutor:
    """Per-process pool for the GIL-releasing side work of an upload (created after any fork)."""
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="upload-side-work")


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _image_fields(decoded: DecodedImage) -> dict:
    return {
        "image_format": decoded.format,
        "image_width": decoded.width,
        "image_height": decoded.height,
        "image_size_bytes": decoded.size_bytes,
        "brightness": decoded.stats.brightness,
        "contrast": decoded.stats.contrast,
        "sharpness": decoded.stats.sharpness,
        "quality_hints": quality_hints(
            decoded.stats, dark_below=settings.NUTRILEARN_DARK_BRIGHTNESS, blurry_below=settings.NUTRILEARN_BLUR_SHARPNESS
        ),
    }


def prediction_record_refusal(
    *,
    status: str,
    status_code: int,
    reason_code: str,
    reason: str,
    user,
    session_key: str,
    source: str,
    size_bytes: int | None = None,
    started: float | None = None,
) -> Prediction:
    """Record a rejected (bad input) or failed (server) request, without any image data.

    A request made during an A/B test carries its assigned arm, so that each arm's error rate counts its own failures.
    """
    elapsed = None if started is None else round(time.perf_counter() - started, 6)
    enrolment = enrolment_for(user=user, session_key=session_key)
    return Prediction.objects.create(
        status=status,
        status_code=status_code,
        reason_code=reason_code,
        reason=reason[:2000],
        source=source,
        session_key=session_key or "",
        image_size_bytes=size_bytes,
        processing_time_seconds=elapsed,
        ab_experiment_id=enrolment.experiment_id,
        ab_arm=enrolment.arm,
        **_owner(user),
    )


class FeedbackInvalid(ValueError):
    pass


def prediction_feedback_set(*, prediction: Prediction, correct: bool, food_key: str = "", food_text: str = "") -> Prediction:
    """Store the user's ground truth on a prediction; calling it again replaces the answer.

    ``correct=True`` confirms the prediction; otherwise the right food comes from the
    catalogue (``food_key``) or as free text for a food the catalogue lacks. The answer is
    also the prediction's user label in the labelled set (``mlops.labelling``).
    """
    if prediction.status != Prediction.Status.OK:
        raise FeedbackInvalid("Only successful predictions can receive feedback.")
    feedback_food = None
    food_text = food_text.strip()
    if correct:
        if prediction.no_food:
            food_text = ""
        food_key = ""
    elif food_key:
        feedback_food = Food.objects.filter(key=food_key).first()
        if feedback_food is None:
            raise FeedbackInvalid(f"Unknown food {food_key!r}. Pick one from the list or type its name.")
        food_text = ""
    elif not food_text:
        raise FeedbackInvalid("Tell us the right food: pick one from the list or type its name.")
    if len(food_text) > 100:
        raise FeedbackInvalid("The food name is too long (100 characters at most).")
    prediction.feedback_correct = correct
    prediction.feedback_food = feedback_food
    prediction.feedback_text = food_text
    prediction.feedback_at = timezone.now()
    with transaction.atomic():
        prediction.save(update_fields=["feedback_correct", "feedback_food", "feedback_text", "feedback_at"])
        label_from_feedback(prediction=prediction)  # the user's answer joins the labelled set
    return prediction


def food_catalogue_load(*, path: Path = CATALOGUE_PATH) -> int:
    """Create or update the catalogue from the shipped JSON file; idempotent. Returns the row count."""
    entries = json.loads(path.read_text())
    fields = (
        "display_name",
        "imagenet_index",
        "fdc_id",
        "fdc_description",
        "energy_kcal",
        "protein_g",
        "carbohydrate_g",
        "fat_g",
        "fibre_g",
    )
    with transaction.atomic():
        for entry in entries:
            defaults = {name: entry.get(name) for name in fields}
            defaults["nutrition_verified"] = bool(entry.get("verified", False))
            Food.objects.update_or_create(key=entry["key"], defaults=defaults)
    return len(entries)


def food_ensure(*, keys: list[str]) -> list[Food]:
    """Make sure every class a model can name has a catalogue row (without nutrition if new)."""
    foods = []
    for key in keys:
        food, _ = Food.objects.get_or_create(key=key, defaults={"display_name": key.replace("_", " ").capitalize()})
        foods.append(food)
    return foods
