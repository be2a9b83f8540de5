"""What the filter bar offers: the model versions seen so far (from the daily rollups and the evaluations, both small tables)."""

from __future__ import annotations

from ..models import Evaluation, PredictionDay
from ..selectors import version_order


def model_version_choices(current: str | None = None) -> list[str]:
    """Known model versions, oldest first; the current filter's version is kept even if nothing has been seen of it."""
    versions = set(PredictionDay.objects.exclude(model_version="").values_list("model_version", flat=True).distinct())
    versions |= set(Evaluation.objects.values_list("model_version", flat=True).distinct())
    if current:
        versions.add(current)
    return sorted(versions, key=version_order)
