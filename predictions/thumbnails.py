"""Thumbnails of stored photos: small re-encoded JPEGs made once (lazily, on first request) and kept beside the photos."""

from __future__ import annotations

import io
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import Prediction

THUMBNAIL_SIDE = 160  # pixels, square: sharp at 80 CSS pixels on a 2x screen
THUMBNAIL_QUALITY = 80


class ThumbnailUnavailable(Exception):
    """The prediction has no photo, or its photo is gone or unreadable."""


def thumbnail_name(image_name: str) -> str:
    """Storage name of the thumbnail of a stored photo: ``thumbnails/<photo path>.jpg``."""
    return str(PurePosixPath("thumbnails") / PurePosixPath(image_name).with_suffix(".jpg"))


def thumbnail_bytes(data: bytes, *, side: int = THUMBNAIL_SIDE) -> bytes:
    """A centred square crop of the photo scaled to ``side`` pixels, as a JPEG without metadata."""
    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (side * 2, side * 2))  # JPEG: decode at reduced size
        square = ImageOps.fit(image.convert("RGB"), (side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    square.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return buffer.getvalue()


def thumbnail_ensure(prediction: Prediction) -> str:
    """The storage name of the prediction's thumbnail, made now if it does not exist yet. Idempotent.

    Raises ThumbnailUnavailable when the prediction has no photo or the photo cannot be read.
    """
    if not prediction.image:
        raise ThumbnailUnavailable(f"prediction {prediction.pk} has no photo")
    name = thumbnail_name(prediction.image.name)
    if default_storage.exists(name):
        return name
    try:
        with default_storage.open(prediction.image.name) as photo:
            data = thumbnail_bytes(photo.read())
    except FileNotFoundError as exc:
        raise ThumbnailUnavailable(f"the photo of prediction {prediction.pk} is missing from storage") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise ThumbnailUnavailable(f"the photo of prediction {prediction.pk} cannot be read: {exc}") from exc
    if default_storage.exists(name):  # made by a concurrent request meanwhile
        return name
    return default_storage.save(name, ContentFile(data))
