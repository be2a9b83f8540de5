"""Successful predictions per day, version, food and status (PredictionDay) and their confidence in 0.01 bins (ConfidenceDay)."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count, F, FloatField, Max, Min, QuerySet, Sum
from django.db.models.functions import Cast

from predictions.models import Prediction

from ..models import WHOLE_DAY, ConfidenceDay, PredictionDay
from ..sql import ConfidenceBin, Day
from .days import by_hour, coverage, hour_field, rolled_cached, rolled_days

FINE_BINS = 100


def counts_day_build(*, day: date, rows: QuerySet[Prediction], hourly: bool) -> None:
    """Replace the day's PredictionDay and ConfidenceDay rows (``hourly``: per hour too) by the sums of ``rows`` (the day's
    predictions): one GROUP BY per table, by hour when hourly, the whole day summed from its hours."""
    stats = (
        by_hour(rows, hourly)
        .values(*hour_field(hourly), "model_version", "food_id", "status")
        .annotate(
            n=Count("id"),
            confidence_n=Count("confidence"),
            confidence_total=Sum("confidence"),
            confidence_square_total=Sum(Cast(F("confidence") * F("confidence"), FloatField())),
            confidence_low=Min("confidence"),
            confidence_high=Max("confidence"),
            latency_n=Count("processing_time_seconds"),
            latency_total=Sum("processing_time_seconds"),
        )
    )
    merged: dict[tuple, PredictionDay] = {}
    for row in stats:
        for hour in {row.get("hour", WHOLE_DAY), WHOLE_DAY}:
            key = (hour, row["model_version"], row["food_id"] or 0, row["status"])
            target = merged.get(key)
            if target is None:
                target = merged[key] = PredictionDay(day=day, hour=hour, model_version=key[1], food_id=key[2], status=key[3])
            target.count += row["n"]
            target.confidence_count += row["confidence_n"]
            target.confidence_sum += row["confidence_total"] or 0.0
            target.confidence_square_sum += row["confidence_square_total"] or 0.0
            target.latency_count += row["latency_n"]
            target.latency_sum += row["latency_total"] or 0.0
            for field, found, pick in (("confidence_min", "confidence_low", min), ("confidence_max", "confidence_high", max)):
                value = row[found]
                if value is not None:
                    current = getattr(target, field)
                    setattr(target, field, value if current is None else pick(current, value))
    bins: dict[tuple, list] = {}
    binned = (
        by_hour(rows.filter(status=Prediction.Status.OK), hourly)
        .annotate(bin=ConfidenceBin(F("confidence"), bins=FINE_BINS))
        .values(*hour_field(hourly), "model_version", "bin")
        .annotate(n=Count("id"), total=Sum("confidence"))
    )
    for row in binned:
        if row["bin"] is None:
            continue
        for hour in {row.get("hour", WHOLE_DAY), WHOLE_DAY}:
            target = bins.setdefault((hour, row["model_version"], min(int(row["bin"]), FINE_BINS - 1)), [0, 0.0])
            target[0] += row["n"]
            target[1] += row["total"]
    PredictionDay.objects.filter(day=day).delete()
    PredictionDay.objects.bulk_create(merged.values(), batch_size=5000)
    ConfidenceDay.objects.filter(day=day).delete()
    ConfidenceDay.objects.bulk_create(
        (
            ConfidenceDay(day=day, hour=hour, model_version=version, bin=index, count=n, confidence_sum=total)
            for (hour, version, index), (n, total) in bins.items()
        ),
        batch_size=5000,
    )


def _empty_stats() -> dict:
    return {"count": 0, "confidence_count": 0, "confidence_sum": 0.0, "confidence_square_sum": 0.0, "confidence_min": None,
            "confidence_max": None}  # fmt: skip


def _merge(target: dict, row: dict) -> None:
    for field in ("count", "confidence_count", "confidence_sum", "confidence_square_sum"):
        target[field] += row[field] or 0
    for field, pick in (("confidence_min", min), ("confidence_max", max)):
        if row[field] is not None:
            target[field] = row[field] if target[field] is None else pick(target[field], row[field])


def ok_stats_total(groups: dict) -> dict:
    """The totals of ``ok_stats_by``'s groups (of any key): what ``ok_stats_by(None, ...)`` answers, without reading again."""
    total = _empty_stats()
    for stats in groups.values():
        _merge(total, stats)
    return total


def _group_of(row: dict, key: str | None):
    if key is None:
        return None
    if key == "day":
        return str(row["day"])
    return row[key] or 0


def ok_stats_by(key: str | None, *, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """Count and confidence sums of successful predictions in [start, end), per ``key`` ("food_id", "day") or in total (key None).

    Rolled-up days come from PredictionDay, the rest from live SQL; "food_id" 0 is no food.
    """
    cover = coverage(start=start, end=end)
    groups: dict = {}
    sums = {
        "count": Sum("count"),
        "confidence_count": Sum("confidence_count"),
        "confidence_sum": Sum("confidence_sum"),
        "confidence_square_sum": Sum("confidence_square_sum"),
        "confidence_min": Min("confidence_min"),
        "confidence_max": Max("confidence_max"),
    }
    if cover.rolled:
        rolled = rolled_days(PredictionDay.objects.order_by().filter(status=Prediction.Status.OK), cover)
        if model_version:
            rolled = rolled.filter(model_version=model_version)
        rolled_rows = rolled_cached(
            cover,
            f"ok-stats-{key}",
            lambda: list(rolled.values(key).annotate(**sums)) if key else [rolled.aggregate(**sums)],
            model_version=model_version or "",
        )
        for row in rolled_rows:
            _merge(groups.setdefault(_group_of(row, key), _empty_stats()), row)
    live_sums = {
        "count": Count("id"),
        "confidence_count": Count("confidence"),
        "confidence_sum": Sum("confidence"),
        "confidence_square_sum": Sum(Cast(F("confidence") * F("confidence"), FloatField())),
        "confidence_min": Min("confidence"),
        "confidence_max": Max("confidence"),
    }
    for part in cover.live:
        live = Prediction.objects.order_by().filter(part, status=Prediction.Status.OK)
        if model_version:
            live = live.filter(model_version=model_version)
        if key == "day":
            live_rows = live.annotate(day=Day("created_at")).values("day").annotate(**live_sums)
        elif key:
            live_rows = live.values(key).annotate(**live_sums)
        else:
            live_rows = [live.aggregate(**live_sums)]
        for row in live_rows:
            _merge(groups.setdefault(_group_of(row, key), _empty_stats()), row)
    if key is None:
        return groups.get(None, _empty_stats())
    return {group: stats for group, stats in groups.items() if stats["count"]}


def confidence_fine_bins_by_version(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """Per model version: counts and confidence sums of successful predictions in 100 bins of width 0.01, over [start, end)."""
    cover = coverage(start=start, end=end)
    versions: dict[str, tuple[list[int], list[float]]] = {}

    def add(version: str, index: int, count: int, total: float) -> None:
        counts, sums = versions.setdefault(version, ([0] * FINE_BINS, [0.0] * FINE_BINS))
        counts[index] += count
        sums[index] += total

    if cover.rolled:
        rolled = rolled_days(ConfidenceDay.objects.order_by(), cover)
        if model_version:
            rolled = rolled.filter(model_version=model_version)
        grouped = rolled.values("model_version", "bin").annotate(n=Sum("count"), total=Sum("confidence_sum"))
        for row in rolled_cached(cover, "confidence-bins", lambda: list(grouped), model_version=model_version or ""):
            add(row["model_version"], row["bin"], row["n"], row["total"])
    # Rows without a confidence fall in bin NULL and are skipped (a "confidence IS NOT NULL" term would
    # tempt SQLite into walking the partial confidence index instead of the time index).
    for part in cover.live:
        live = Prediction.objects.order_by().filter(part, status=Prediction.Status.OK)
        if model_version:
            live = live.filter(model_version=model_version)
        binned = live.annotate(bin=ConfidenceBin(F("confidence"), bins=FINE_BINS)).values("model_version", "bin")
        for row in binned.annotate(n=Count("id"), total=Sum("confidence")):
            if row["bin"] is not None:
                add(row["model_version"], min(int(row["bin"]), FINE_BINS - 1), row["n"], row["total"])
    return versions


def confidence_fine_bins(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> list[int]:
    """Counts of successful predictions in 100 confidence bins of width 0.01, over [start, end), all versions together."""
    counts = [0] * FINE_BINS
    for version_counts, _ in confidence_fine_bins_by_version(start=start, end=end, model_version=model_version).values():
        counts = [a + b for a, b in zip(counts, version_counts, strict=True)]
    return counts
