"""Reads of the labelled set: each prediction's standing label, and the staff queue ordered by the value of a label."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Exists, OuterRef

from predictions.models import Prediction

from ..drift_photos import drift_photos_find
from ..models import DriftReport
from ..shadow.models import ShadowPrediction
from .models import Label
from .value import LabelValue, label_value

QUEUE_POOL = 1000  # newest unlabelled predictions scored per page view (plus every shadow disagreement and drift photo)
DRIFT_PHOTOS_CACHE_SECONDS = 3600


def labels_effective() -> list[Label]:
    """One label per labelled prediction: its latest staff label, else its user's; oldest prediction first.

    Staff labels outrank a user's own answer (staff see the photo with the catalogue at hand).
    """
    standing: dict[int, Label] = {}
    rows = Label.objects.select_related("prediction").order_by("created_at", "id")
    for label in rows:
        current = standing.get(label.prediction_id)
        if current is None or label.source in Label.STAFF_SOURCES or current.source not in Label.STAFF_SOURCES:
            standing[label.prediction_id] = label
    return [standing[key] for key in sorted(standing)]


def label_counts_by_source() -> dict[str, int]:
    """How many labels each source gave (every row, not only the standing ones)."""
    counts = {source: 0 for source in Label.Source.values}
    for source in Label.objects.order_by().values_list("source", flat=True):
        counts[source] += 1
    return counts


def drift_photo_ids() -> set[int]:
    """The predictions the latest scheduled drift report shows as its drift photos (cached per report)."""
    report = DriftReport.objects.latest_scheduled()
    if report is None:
        return set()
    key = f"labelling:drift-photos:{report.pk}"
    ids = cache.get(key)
    if ids is None:
        ids = [photo.prediction_id for photo in drift_photos_find(report).photos]
        cache.set(key, ids, DRIFT_PHOTOS_CACHE_SECONDS)
    return set(ids)


@dataclass(frozen=True)
class QueueItem:
    prediction: Prediction
    value: LabelValue
    shadow: ShadowPrediction | None


def labelling_queue(*, limit: int = 50, exclude_ids: frozenset[int] = frozenset()) -> list[QueueItem]:
    """Unlabelled predictions with a photo, the most valuable label first (``label_value``); ties: newest first.

    Candidates: the newest ``QUEUE_POOL`` unlabelled photos, every unlabelled shadow disagreement and the
    latest drift report's photos. A prediction with any label is not queued.
    """
    labelled = Label.objects.filter(prediction=OuterRef("pk"))
    unlabelled = (
        Prediction.objects.filter(status=Prediction.Status.OK).exclude(image="").exclude(Exists(labelled)).exclude(id__in=exclude_ids)
    )
    disagreeing = set(ShadowPrediction.objects.filter(agrees=False).values_list("prediction_id", flat=True))
    drifting = drift_photo_ids()
    pool = set(unlabelled.order_by("-created_at", "-id").values_list("id", flat=True)[:QUEUE_POOL])
    pool |= set(unlabelled.filter(id__in=disagreeing | drifting).values_list("id", flat=True))
    rows = Prediction.objects.filter(id__in=pool).select_related("food", "shadow", "shadow__food")
    items = []
    for prediction in rows:
        value = label_value(
            top_k=prediction.top_k,
            no_food=prediction.no_food,
            food_mass=prediction.food_mass,
            food_mass_threshold=settings.NUTRILEARN_FOOD_MASS_THRESHOLD,
            disagreement=prediction.pk in disagreeing,
            drift_photo=prediction.pk in drifting,
        )
        items.append(QueueItem(prediction=prediction, value=value, shadow=getattr(prediction, "shadow", None)))
    items.sort(key=lambda item: (-item.value.score, -item.prediction.created_at.timestamp(), -item.prediction.pk))
    return items[:limit]
