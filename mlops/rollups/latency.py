"""Requests per day: counts by status and latency sums (from PredictionDay) and the latency histogram (LatencyDay).

Latency percentiles of any window are read from the histogram (``mlops.percentiles``
defines them): whole days from LatencyDay, the rest of the window binned live in SQL.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count, F, Q, QuerySet, Sum

from predictions.models import Prediction

from ..models import WHOLE_DAY, LatencyDay, PredictionDay
from ..sql import Day, LatencyBin
from .days import by_hour, coverage, hour_field, rolled_cached, rolled_days


def latency_day_build(*, day: date, rows: QuerySet[Prediction], hourly: bool) -> None:
    """Replace the day's LatencyDay rows (``hourly``: per hour too) by the histogram of ``rows`` (the day's requests) per
    model version."""
    binned = (
        by_hour(rows, hourly)
        .annotate(bin=LatencyBin(F("processing_time_seconds")))
        .values(*hour_field(hourly), "model_version", "bin")
        .annotate(n=Count("id"))
    )
    counts: dict[tuple, int] = {}
    for row in binned:
        if row["bin"] is None:
            continue
        for hour in {row.get("hour", WHOLE_DAY), WHOLE_DAY}:
            key = (hour, row["model_version"], row["bin"])
            counts[key] = counts.get(key, 0) + row["n"]
    LatencyDay.objects.filter(day=day).delete()
    LatencyDay.objects.bulk_create(
        (LatencyDay(day=day, hour=hour, model_version=version, bin=index, count=n) for (hour, version, index), n in counts.items()),
        batch_size=5000,
    )


def _add(histogram: dict[int, int], index: int, count: int) -> None:
    histogram[index] = histogram.get(index, 0) + count


def request_totals(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """Requests in [start, end): ``total``, ``rejected``, ``failed``, ``timed`` (with a latency), ``latency_sum`` and
    ``histogram`` (latency bin -> count). A version filter keeps only that version's (successful) requests."""
    cover = coverage(start=start, end=end)
    totals = {"total": 0, "rejected": 0, "failed": 0, "timed": 0, "latency_sum": 0.0}
    histogram: dict[int, int] = {}
    if cover.rolled:
        days = rolled_days(PredictionDay.objects.order_by(), cover)
        bins = rolled_days(LatencyDay.objects.order_by(), cover)
        if model_version:
            days, bins = days.filter(model_version=model_version), bins.filter(model_version=model_version)

        def read() -> tuple[dict, list]:
            sums = days.aggregate(
                total=Sum("count"),
                rejected=Sum("count", filter=Q(status=Prediction.Status.REJECTED)),
                failed=Sum("count", filter=Q(status=Prediction.Status.FAILED)),
                timed=Sum("latency_count"),
                latency_sum=Sum("latency_sum"),
            )
            return sums, list(bins.values("bin").annotate(n=Sum("count")).values_list("bin", "n"))

        rolled, rolled_bins = rolled_cached(cover, "requests", read, model_version=model_version or "")
        for name in totals:
            totals[name] += rolled[name] or 0
        for index, count in rolled_bins:
            _add(histogram, index, count)
    for part in cover.live:
        live = Prediction.objects.order_by().filter(part)
        if model_version:
            live = live.filter(model_version=model_version)
        found = live.aggregate(
            total=Count("id"),
            rejected=Count("id", filter=Q(status=Prediction.Status.REJECTED)),
            failed=Count("id", filter=Q(status=Prediction.Status.FAILED)),
            timed=Count("processing_time_seconds"),
            latency_sum=Sum("processing_time_seconds"),
        )
        for name in totals:
            totals[name] += found[name] or 0
        for index, count in _binned(live).items():
            _add(histogram, index, count)
    return {**totals, "histogram": histogram}


def _binned(requests: QuerySet[Prediction]) -> dict[int, int]:
    rows = requests.annotate(bin=LatencyBin(F("processing_time_seconds"))).values("bin").annotate(n=Count("id"))
    return {index: count for index, count in rows.values_list("bin", "n") if index is not None}


def live_latency_histogram(*, start: datetime, end: datetime, model_version: str | None = None) -> dict[int, int]:
    """Latency bin -> requests of [start, end), binned live in one query: for short windows (hours), read through the time index."""
    requests = Prediction.objects.order_by().filter(created_at__gte=start, created_at__lt=end)
    if model_version:
        requests = requests.filter(model_version=model_version)
    return _binned(requests)


def latency_histograms_by_day(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """UTC day ('YYYY-MM-DD') -> latency histogram (bin -> count) of the requests in [start, end) on that day."""
    cover = coverage(start=start, end=end)
    days: dict[str, dict[int, int]] = {}
    if cover.rolled:
        rolled = rolled_days(LatencyDay.objects.order_by(), cover)
        if model_version:
            rolled = rolled.filter(model_version=model_version)

        def read() -> dict[str, dict[int, int]]:
            by_day: dict[str, dict[int, int]] = {}
            for day, index, count in rolled.values("day", "bin").annotate(n=Sum("count")).values_list("day", "bin", "n"):
                _add(by_day.setdefault(str(day), {}), index, count)
            return by_day

        # A copy out of the cache (or the value just stored in it): the live rows below may add to it.
        days = rolled_cached(cover, "latency-days", read, model_version=model_version or "")
    for part in cover.live:
        live = Prediction.objects.order_by().filter(part)
        if model_version:
            live = live.filter(model_version=model_version)
        binned = live.annotate(day=Day("created_at"), bin=LatencyBin(F("processing_time_seconds"))).values("day", "bin")
        for day, index, count in binned.annotate(n=Count("id")).values_list("day", "bin", "n"):
            if index is not None:
                _add(days.setdefault(str(day), {}), index, count)
    return days
