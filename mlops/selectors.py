"""Reads of the mlops app: monitoring figures as SQL aggregates over the Prediction table.

Every function takes keyword-only ``start``/``end`` (end exclusive, either may be None
for an open end) and an optional ``model_version``, and runs a bounded number of
queries whatever the row count. Percentiles are portable: one ORDER BY ... OFFSET
query per percentile, ordered from the nearer end so that the database keeps a small
top-N heap instead of sorting the window.
"""

from __future__ import annotations

import math
from datetime import datetime

from django.db.models import Avg, Count, F, FloatField, Max, Min, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from predictions.models import Prediction


def predictions_in_window(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> QuerySet[Prediction]:
    """All recorded requests (ok, rejected, failed) created in [start, end) for a version, unordered."""
    queryset = Prediction.objects.order_by()
    if start is not None:
        queryset = queryset.filter(created_at__gte=start)
    if end is not None:
        queryset = queryset.filter(created_at__lt=end)
    if model_version:
        queryset = queryset.filter(model_version=model_version)
    return queryset


def percentile(queryset: QuerySet, *, field: str, fraction: float, count: int) -> float | None:
    """The ``fraction`` quantile of ``field`` over ``count`` non-null rows, linearly interpolated (like numpy's default).

    Two rows are read at an OFFSET; the order is taken from the nearer end so the
    offset stays below half the rows.
    """
    if count <= 0:
        return None
    position = fraction * (count - 1)
    lower = math.floor(position)
    weight = position - lower
    rows = queryset.filter(**{f"{field}__isnull": False}).order_by()
    if lower <= (count - 1) / 2:
        values = list(rows.order_by(field).values_list(field, flat=True)[lower : lower + 2])
    else:
        # Descending: the value at ascending index i sits at descending index count-1-i.
        upper_desc = count - 1 - min(lower + 1, count - 1)
        descending = list(rows.order_by(F(field).desc()).values_list(field, flat=True)[upper_desc : upper_desc + 2])
        values = list(reversed(descending)) if lower + 1 <= count - 1 else descending[:1]
    if not values:
        return None
    if len(values) == 1 or weight == 0:
        return float(values[0])
    return float(values[0]) + weight * (float(values[1]) - float(values[0]))


def _window_minutes(start: datetime | None, end: datetime | None, first: datetime | None) -> float | None:
    end = end or timezone.now()
    start = start or first
    if start is None or end <= start:
        return None
    return (end - start).total_seconds() / 60


def request_stats(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """Request count, errors (4xx bad input apart from 5xx failures), error rate and latency percentiles in [start, end).

    Latency is the recorded processing time of every request that has one. Rejected
    and failed requests carry no model version, so a version filter counts only its
    successful requests.
    """
    queryset = predictions_in_window(start=start, end=end, model_version=model_version)
    aggregates = {
        "total": Count("id"),
        "client_errors": Count("id", filter=Q(status=Prediction.Status.REJECTED)),
        "server_errors": Count("id", filter=Q(status=Prediction.Status.FAILED)),
        "timed": Count("processing_time_seconds"),
        "avg_latency": Avg("processing_time_seconds"),
    }
    if start is None:
        # An open window's throughput is measured from its first request.
        aggregates["first"] = Min("created_at")
    totals = queryset.aggregate(**aggregates)
    total = totals["total"]
    errors = totals["client_errors"] + totals["server_errors"]
    timed = totals["timed"]
    minutes = _window_minutes(start, end, totals.get("first"))
    return {
        "total_requests": total,
        "error_count": errors,
        "client_error_count": totals["client_errors"],
        "server_error_count": totals["server_errors"],
        "error_rate_percent": round(100.0 * errors / total, 4) if total else 0.0,
        "avg_response_time_seconds": totals["avg_latency"],
        "p50_response_time_seconds": percentile(queryset, field="processing_time_seconds", fraction=0.50, count=timed),
        "p95_response_time_seconds": percentile(queryset, field="processing_time_seconds", fraction=0.95, count=timed),
        "p99_response_time_seconds": percentile(queryset, field="processing_time_seconds", fraction=0.99, count=timed),
        "throughput_per_minute": round(total / minutes, 4) if minutes else 0.0,
    }


def confidence_summary(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """count, mean, median, std (population), min and max of the confidence of successful predictions in [start, end)."""
    queryset = predictions_in_window(start=start, end=end, model_version=model_version).filter(
        status=Prediction.Status.OK, confidence__isnull=False
    )
    totals = queryset.aggregate(
        count=Count("confidence"),
        mean=Avg("confidence"),
        mean_square=Avg(Cast(F("confidence") * F("confidence"), FloatField())),
        min=Min("confidence"),
        max=Max("confidence"),
    )
    count = totals["count"]
    if not count:
        return {"count": 0, "mean": None, "median": None, "std": None, "min": None, "max": None}
    variance = max(totals["mean_square"] - totals["mean"] ** 2, 0.0)
    return {
        "count": count,
        "mean": totals["mean"],
        "median": percentile(queryset, field="confidence", fraction=0.5, count=count),
        "std": math.sqrt(variance),
        "min": totals["min"],
        "max": totals["max"],
    }


def mirror_backlog() -> dict:
    """How many successful predictions wait to be mirrored into MLflow, and the age in seconds of the oldest (0 when none)."""
    totals = Prediction.objects.order_by().filter(status=Prediction.Status.OK, mirrored_at__isnull=True).aggregate(
        count=Count("id"), oldest=Min("created_at")
    )
    oldest = totals["oldest"]
    age = max((timezone.now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return {"count": totals["count"], "oldest_age_seconds": age}
