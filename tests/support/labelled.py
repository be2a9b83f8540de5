"""Predictions with stored photos and labels: the generated shapes (tests/mlops/shapes.py) as a labelled set."""

from __future__ import annotations

import io

import numpy as np
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from mlops.labelling.models import Label
from mlops.labelling.services import label_record
from predictions.models import Prediction
from tests.mlops.factories import food_make, predictions_make
from tests.mlops.shapes import SHAPES, shape_image


def png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def stored_photo(prediction: Prediction, data: bytes) -> Prediction:
    """Give a row made by ``predictions_make`` a photo in storage, as an upload would have."""
    prediction.image.save(f"photo-{prediction.pk}.png", ContentFile(data), save=False)
    Prediction.objects.filter(pk=prediction.pk).update(image=prediction.image.name, image_sha256=f"{prediction.pk:064d}")
    return prediction


def staff_user(username: str = "labeller"):
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
    return user


def labelled_shapes_make(*, per_class: int, seed: int = 0, size: int = 64, shapes=tuple(SHAPES), **fields) -> list[Label]:
    """``per_class`` predictions of each shape with its photo stored and a staff label naming the shape (a catalogue food)."""
    rng = np.random.default_rng(seed)
    labeller = staff_user()
    labels = []
    for name in shapes:
        food = food_make(name)
        kind, colour = SHAPES[name]
        for prediction in predictions_make(per_class, food=None, confidence=0.3, **fields):
            stored_photo(prediction, png(shape_image(kind, colour, rng, size)))
            prediction.refresh_from_db()
            labels.append(label_record(prediction=prediction, source=Label.Source.STAFF_QUEUE, user=labeller, food_key=food.key))
    return labels
