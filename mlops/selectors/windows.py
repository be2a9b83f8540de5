"""The windows every selector reads: predictions (all requests, or the successful ones) and evaluations in [start, end)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from predictions.models import Prediction


def in_window(queryset: QuerySet, *, start: datetime | None, end: datetime | None, model_version: str | None = None) -> QuerySet:
    """Rows of ``queryset`` created in [start, end) (either end open when None), of one model version if given."""
    if start is not None:
        queryset = queryset.filter(created_at__gte=start)
    if end is not None:
        queryset = queryset.filter(created_at__lt=end)
    if model_version:
        queryset = queryset.filter(model_version=model_version)
    return queryset


def predictions_in_window(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> QuerySet[Prediction]:
    """All recorded requests (ok, rejected, failed) created in [start, end) for a version, unordered."""
    return in_window(Prediction.objects.order_by(), start=start, end=end, model_version=model_version)


def successful_predictions(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> QuerySet[Prediction]:
    """The successful predictions (status ok) of the window: the ones with a food, a confidence and a model version."""
    return predictions_in_window(start=start, end=end, model_version=model_version).filter(status=Prediction.Status.OK)
