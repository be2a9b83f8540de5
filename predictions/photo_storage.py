"""Stored photo files: finding and removing the ones no prediction row refers to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from .models import Prediction

PHOTO_FOLDER = "predictions"
BATCH = 500


def _files_under(folder: str) -> Iterator[str]:
    folders, files = default_storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from _files_under(f"{folder}/{sub}")


def orphaned_photos_remove(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete stored photos older than ``older_than`` that no Prediction row refers to; returns how many. Idempotent.

    A photo is written just before its row commits, so only files older than the grace period count:
    a file without a row is what an upload that failed between the two left behind.
    """
    now = now or timezone.now()
    if not default_storage.exists(PHOTO_FOLDER):
        return 0
    candidates = [name for name in _files_under(PHOTO_FOLDER) if default_storage.get_modified_time(name) < now - older_than]
    removed = 0
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start : start + BATCH]
        referenced = set(Prediction.objects.filter(image__in=batch).values_list("image", flat=True))
        for name in batch:
            if name not in referenced:
                default_storage.delete(name)
                removed += 1
    return removed
