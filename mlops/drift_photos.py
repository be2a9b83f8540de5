"""The photos behind a drift report: the recent photos whose embeddings lie farthest from the baseline window's.

Tabular drift tests say *that* the inputs changed; these photos show *what* changed. Both
windows are read as an even sample by primary key (every n-th row), up to
``BASELINE_SAMPLE`` baseline embeddings and ``RECENT_SAMPLE`` recent photos, so the cost
stays bounded whatever the table size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db.models import F, QuerySet
from django.db.models.functions import Mod

from predictions.models import Prediction

from .embedding_outliers import farthest, knn_distance
from .models import DriftReport

BASELINE_SAMPLE = 2000
RECENT_SAMPLE = 5000
NEIGHBOURS = 5
PHOTOS = 24


@dataclass(frozen=True)
class DriftPhoto:
    prediction_id: int
    distance: float


@dataclass(frozen=True)
class DriftPhotos:
    photos: list[DriftPhoto]  # farthest first
    baseline_typical: float | None  # median distance of a baseline photo to its nearest baseline neighbours
    baseline_sampled: int
    recent_sampled: int


def _with_embeddings(*, start: datetime, end: datetime, model_version: str) -> QuerySet[Prediction]:
    rows = Prediction.objects.order_by().filter(
        status=Prediction.Status.OK, created_at__gte=start, created_at__lt=end, embedding__isnull=False
    )
    return rows.filter(model_version=model_version) if model_version else rows


def _even_sample(rows: QuerySet[Prediction], size: int) -> list[tuple[int, bytes]]:
    """At most about ``size`` (id, embedding) pairs, every n-th id, in id order."""
    total = rows.count()
    if total > size:
        rows = rows.annotate(sample_bucket=Mod(F("id"), math.ceil(total / size))).filter(sample_bucket=0)
    return list(rows.order_by("id").values_list("id", "embedding"))


def _matrix(pairs: list[tuple[int, bytes]]) -> tuple[list[int], np.ndarray]:
    vectors = [(pk, np.frombuffer(bytes(blob), dtype=np.float32)) for pk, blob in pairs if blob]
    if not vectors:
        return [], np.zeros((0, 0))
    dim = vectors[0][1].shape[0]
    kept = [(pk, vector) for pk, vector in vectors if vector.shape[0] == dim]
    return [pk for pk, _ in kept], np.vstack([vector for _, vector in kept]).astype(np.float64)


def drift_photos_find(report: DriftReport, *, count: int = PHOTOS) -> DriftPhotos:
    """The ``count`` recent photos of the report's recent window farthest (k-nearest-neighbour distance) from its baseline window."""
    baseline_pairs = _even_sample(
        _with_embeddings(start=report.baseline_start, end=report.baseline_end, model_version=report.model_version), BASELINE_SAMPLE
    )
    recent_pairs = _even_sample(
        _with_embeddings(start=report.recent_start, end=report.recent_end, model_version=report.model_version).exclude(image=""),
        RECENT_SAMPLE,
    )
    _, baseline = _matrix(baseline_pairs)
    recent_ids, recent = _matrix(recent_pairs)
    if baseline.shape[0] < 2 or not recent_ids or baseline.shape[1] != recent.shape[1]:
        return DriftPhotos(photos=[], baseline_typical=None, baseline_sampled=baseline.shape[0], recent_sampled=len(recent_ids))
    distances = knn_distance(baseline, recent, k=NEIGHBOURS)
    typical = float(np.median(knn_distance(baseline, baseline, k=NEIGHBOURS, exclude_self=True)))
    photos = [DriftPhoto(prediction_id=recent_ids[index], distance=float(distances[index])) for index in farthest(distances, count)]
    return DriftPhotos(photos=photos, baseline_typical=typical, baseline_sampled=baseline.shape[0], recent_sampled=len(recent_ids))
