"""Photo files without a prediction row are removed after a grace period; referenced ones never are."""

import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mlops.models import JobRun
from predictions.models import Prediction
from predictions.tasks import orphaned_photos_clean

pytestmark = pytest.mark.django_db


def photo_file(name: str, *, hours_old: float) -> str:
    saved = default_storage.save(name, ContentFile(b"\xff\xd8\xff\xe0 not really a photo"))
    moment = time.time() - hours_old * 3600
    os.utime(default_storage.path(saved), (moment, moment))
    return saved


def test_old_files_without_a_row_are_removed_and_the_rest_stay(settings):
    settings.NUTRILEARN_ORPHAN_GRACE_MINUTES = 60
    referenced = photo_file("predictions/2026/11/01/kept.jpg", hours_old=5)
    Prediction.objects.create(status="ok", image=referenced)
    orphan = photo_file("predictions/2026/11/01/orphan.jpg", hours_old=5)
    fresh = photo_file("predictions/2026/11/29/being-written.jpg", hours_old=0.1)

    removed = orphaned_photos_clean.apply().get()

    assert removed == 1
    assert default_storage.exists(referenced)
    assert not default_storage.exists(orphan)
    assert default_storage.exists(fresh)
    assert JobRun.objects.get(name="orphaned_photos_remove").items == 1


def test_nothing_to_do_without_any_photo_folder():
    assert orphaned_photos_clean.apply().get() == 0
    assert JobRun.objects.get(name="orphaned_photos_remove").status == "succeeded"
