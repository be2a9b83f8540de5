"""Writes of the labelled set: a user's feedback as a label, a staff label, and the ImageFolder export."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from predictions.models import NO_FOOD_LABEL, Food, Prediction

from .models import Label
from .selectors import labels_effective


class LabelInvalid(ValueError):
    """The label cannot be recorded; the message says why."""


def label_from_feedback(*, prediction: Prediction) -> Label | None:
    """Mirror the user's feedback on ``prediction`` as its one user label (replacing an earlier one); idempotent.

    The source is "unsure choice" when the answer was unsure (the user picked from the choices), else "user
    feedback". Feedback that names no food (a correction without one) removes the user label. Returns the row.
    """
    key = prediction.true_food_key
    with transaction.atomic():
        existing = Label.objects.select_for_update().filter(prediction=prediction, source__in=Label.USER_SOURCES).first()
        if key is None:
            if existing is not None:
                existing.delete()
            return None
        label = existing or Label(prediction=prediction)
        label.source = Label.Source.UNSURE_CHOICE if prediction.is_unsure else Label.Source.USER_FEEDBACK
        label.user = prediction.user
        label.created_at = prediction.feedback_at or timezone.now()
        label.food_key = key
        label.food = prediction.confirmed_food
        label.food_text = prediction.feedback_text if label.food is None and key != NO_FOOD_LABEL else ""
        label.save()
    return label


def label_record(*, prediction: Prediction, source: str, user, food_key: str = "", not_food: bool = False) -> Label:
    """A staff label: a catalogue food (``food_key``) or "not food". Raises LabelInvalid for anything else."""
    if source not in Label.STAFF_SOURCES:
        raise LabelInvalid(f"{source!r} is not a staff label source")
    if prediction.status != Prediction.Status.OK or not prediction.image:
        raise LabelInvalid(f"Prediction {prediction.pk} has no stored photo to label.")
    if not_food == bool(food_key):
        raise LabelInvalid("Say either which food the photo shows or that it shows no food.")
    food = None
    if food_key:
        food = Food.objects.filter(key=food_key).first()
        if food is None:
            raise LabelInvalid(f"Unknown food {food_key!r}: pick one from the catalogue.")
    return Label.objects.create(
        prediction=prediction, source=source, user=user, created_at=timezone.now(), food=food, food_key=food.key if food else NO_FOOD_LABEL
    )


class ExportInvalid(ValueError):
    """The export cannot be written where asked; the message says why."""


@dataclass(frozen=True)
class LabelExport:
    """What an export wrote: one photo per labelled prediction, in ``<food key>/<prediction id>.jpg``."""

    root: Path
    label_ids: list[int]
    counts: dict[str, int]
    images_sha256: str
    skipped: int  # labels whose photo was not kept or is gone from storage

    @property
    def image_count(self) -> int:
        return sum(self.counts.values())


MANIFEST_NAME = "labels.json"


def labels_export(*, out_dir: Path, include_not_food: bool = False, folder_for: dict[str, str] | None = None) -> LabelExport:
    """Write every labelled photo (each prediction's standing label, ``labels_effective``) as an ImageFolder ``train`` accepts.

    ``out_dir`` must be empty or new. "Not food" photos are left out unless ``include_not_food`` (as a ``no_food``
    class). ``folder_for`` maps a food key to another class folder name (retraining matches the base dataset's
    folders). A manifest ``labels.json`` lists label ids and photo hashes. Nothing is written to the database.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ExportInvalid(f"{out_dir} exists and is not an empty folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    folder_for = folder_for or {}
    written: list[tuple[str, str, int, int]] = []  # (class folder, photo sha256, label id, prediction id)
    skipped = 0
    for label in labels_effective():
        if label.not_food and not include_not_food:
            continue
        prediction = label.prediction
        folder = folder_for.get(label.food_key, label.food_key)
        if not prediction.image:  # the photo was not kept (e.g. removed on request): nothing to train on
            skipped += 1
            continue
        try:
            with default_storage.open(prediction.image.name) as photo:
                data = photo.read()
        except FileNotFoundError:
            skipped += 1
            continue
        target = out_dir / folder / f"{prediction.pk}.jpg"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(data)
        written.append((folder, prediction.image_sha256 or hashlib.sha256(data).hexdigest(), label.pk, prediction.pk))
    written.sort()
    digest = hashlib.sha256("\n".join(f"{folder}/{sha}" for folder, sha, _, _ in written).encode()).hexdigest()
    manifest = {
        "exported_at": timezone.now().isoformat(),
        "images_sha256": digest,
        "images": [{"class": folder, "sha256": sha, "label_id": label_id, "prediction_id": pk} for folder, sha, label_id, pk in written],
    }
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1))
    return LabelExport(
        root=out_dir,
        label_ids=sorted(label_id for _, _, label_id, _ in written),
        counts=dict(Counter(folder for folder, _, _, _ in written)),
        images_sha256=digest,
        skipped=skipped,
    )
