"""Daily rollups of the Prediction table, so that monitoring over all data reads thousands of rows, not millions.

``rollups_refresh`` (a periodic task) recomputes whole UTC days from one GROUP BY over
each day's rows: the days that may have received predictions since the last refresh.
Recomputing a day replaces its rows, so a refresh can run any number of times. Only
facts that never change after a prediction is stored are rolled up (status, food,
version, confidence, latency, user); feedback is read live. Per-user totals only grow (a
prediction's user and version never change) and are added incrementally by id.

Readers combine the rollup for complete days with live SQL over the rest of the
window (today, and the partial days at the edges of a start/end), so answers are
exact and current.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F, FloatField, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Cast
from django.utils import timezone

from predictions.models import Prediction

from .models import ConfidenceDay, PredictionDay, RollupState, UserTotal

STATE_NAME = "predictions"
# Predictions are committed within moments of their created_at; a day is final once it
# ended this long before a refresh.
GRACE = timedelta(seconds=60)
FINE_BINS = 100


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def user_key(*, user_id: int | None, session_key: str) -> str | None:
    """Signed-in users by id; anonymous sessions by a hash (session keys are credentials); None when neither."""
    if user_id is not None:
        return f"u{user_id}"
    if session_key:
        return "s" + hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return None


# --- writing -------------------------------------------------------------------------------------------------


def rollups_refresh(*, now: datetime | None = None) -> dict:
    """Bring the rollups up to date: recompute changed days, add new predictions to the user totals. Idempotent.

    Serialised by a row lock on the state row, so two workers never interleave.
    """
    from .selectors import ConfidenceBin

    now = now or timezone.now()
    horizon = now - GRACE
    with transaction.atomic():
        state, _ = RollupState.objects.select_for_update().get_or_create(name=STATE_NAME)
        if state.refreshed_at is None:
            first = Prediction.objects.order_by().aggregate(first=Min("created_at"))["first"]
            days = _days(_day_of(first), _day_of(now)) if first else []
        else:
            days = _days(_day_of(state.refreshed_at - GRACE), _day_of(now))
        for day in days:
            _day_refresh(day, ConfidenceBin)
        last_id, added = _user_totals_add(after_id=state.last_prediction_id, before=horizon)
        state.last_prediction_id = last_id
        state.refreshed_at = now
        state.complete_before = _day_of(horizon)
        state.save()
    return {"days": len(days), "user_predictions_added": added, "complete_before": state.complete_before}


def _day_refresh(day: date, confidence_bin) -> None:
    rows = Prediction.objects.order_by().filter(created_at__gte=_midnight(day), created_at__lt=_midnight(day + timedelta(days=1)))
    stats = rows.values("model_version", "food_id", "status").annotate(
        n=Count("id"),
        confidence_n=Count("confidence"),
        confidence_total=Sum("confidence"),
        confidence_square_total=Sum(Cast(F("confidence") * F("confidence"), FloatField())),
        confidence_low=Min("confidence"),
        confidence_high=Max("confidence"),
        latency_n=Count("processing_time_seconds"),
        latency_total=Sum("processing_time_seconds"),
    )
    merged: dict[tuple, PredictionDay] = {}
    for row in stats:
        key = (row["model_version"], row["food_id"] or 0, row["status"])
        merged[key] = PredictionDay(
            day=day,
            model_version=row["model_version"],
            food_id=row["food_id"] or 0,
            status=row["status"],
            count=row["n"],
            confidence_count=row["confidence_n"],
            confidence_sum=row["confidence_total"] or 0.0,
            confidence_square_sum=row["confidence_square_total"] or 0.0,
            confidence_min=row["confidence_low"],
            confidence_max=row["confidence_high"],
            latency_count=row["latency_n"],
            latency_sum=row["latency_total"] or 0.0,
        )
    bins: dict[tuple, list] = {}
    binned = (
        rows.filter(status=Prediction.Status.OK, confidence__isnull=False)
        .annotate(bin=confidence_bin(F("confidence"), bins=FINE_BINS))
        .values("model_version", "bin")
        .annotate(n=Count("id"), total=Sum("confidence"))
    )
    for row in binned:
        target = bins.setdefault((row["model_version"], min(int(row["bin"]), FINE_BINS - 1)), [0, 0.0])
        target[0] += row["n"]
        target[1] += row["total"]
    PredictionDay.objects.filter(day=day).delete()
    PredictionDay.objects.bulk_create(merged.values())
    ConfidenceDay.objects.filter(day=day).delete()
    ConfidenceDay.objects.bulk_create(
        ConfidenceDay(day=day, model_version=version, bin=index, count=n, confidence_sum=total)
        for (version, index), (n, total) in bins.items()
    )


def _user_totals_add(*, after_id: int, before: datetime) -> tuple[int, int]:
    rows = Prediction.objects.order_by().filter(status=Prediction.Status.OK, id__gt=after_id, created_at__lt=before)
    last_id = rows.aggregate(last=Max("id"))["last"]
    if last_id is None:
        return after_id, 0
    grouped = rows.filter(id__lte=last_id).values("user_id", "session_key", "model_version").annotate(n=Count("id"))
    additions: dict[tuple[str, str], int] = {}
    for row in grouped:
        key = user_key(user_id=row["user_id"], session_key=row["session_key"])
        if key is not None:
            additions[(key, row["model_version"])] = additions.get((key, row["model_version"]), 0) + row["n"]
    versions = {version for _, version in additions}
    existing = {
        (total.user_key, total.model_version): total.count
        for total in UserTotal.objects.filter(model_version__in=versions).only("user_key", "model_version", "count")
    }
    UserTotal.objects.bulk_create(
        [
            UserTotal(user_key=key, model_version=version, count=existing.get((key, version), 0) + n)
            for (key, version), n in additions.items()
        ],
        update_conflicts=True,
        unique_fields=["user_key", "model_version"],
        update_fields=["count"],
        batch_size=2000,
    )
    return last_id, sum(additions.values())


# --- reading -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Which part of a window the rollup answers (whole days ``[first_day, end_day)``) and which live SQL must."""

    first_day: date | None  # None: from the beginning
    end_day: date | None  # None: the rollup answers nothing
    live: Q  # the rows of the window outside the rolled-up days


def coverage(*, start: datetime | None, end: datetime | None) -> Coverage:
    state = RollupState.objects.filter(name=STATE_NAME).values("complete_before").first()
    complete_before = state["complete_before"] if state else None
    window = Q()
    if start is not None:
        window &= Q(created_at__gte=start)
    if end is not None:
        window &= Q(created_at__lt=end)
    if complete_before is None:
        return Coverage(first_day=None, end_day=None, live=window)
    first_day = None
    if start is not None:
        first_day = _day_of(start) if _midnight(_day_of(start)) == start else _day_of(start) + timedelta(days=1)
    end_day = complete_before if end is None else min(complete_before, _day_of(end))
    if first_day is not None and first_day >= end_day:
        return Coverage(first_day=None, end_day=None, live=window)
    outside = Q(created_at__gte=_midnight(end_day))
    if first_day is not None:
        outside |= Q(created_at__lt=_midnight(first_day))
    return Coverage(first_day=first_day, end_day=end_day, live=window & outside)


def _rolled_days(queryset: QuerySet, cover: Coverage) -> QuerySet:
    queryset = queryset.filter(day__lt=cover.end_day)
    if cover.first_day is not None:
        queryset = queryset.filter(day__gte=cover.first_day)
    return queryset


def _empty_stats() -> dict:
    return {"count": 0, "confidence_count": 0, "confidence_sum": 0.0, "confidence_square_sum": 0.0, "confidence_min": None,
            "confidence_max": None}  # fmt: skip


def _merge(target: dict, row: dict) -> None:
    for field in ("count", "confidence_count", "confidence_sum", "confidence_square_sum"):
        target[field] += row[field] or 0
    for field, pick in (("confidence_min", min), ("confidence_max", max)):
        if row[field] is not None:
            target[field] = row[field] if target[field] is None else pick(target[field], row[field])


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
    from .selectors import Day

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
    if cover.end_day is not None:
        rolled = _rolled_days(PredictionDay.objects.order_by().filter(status=Prediction.Status.OK), cover)
        if model_version:
            rolled = rolled.filter(model_version=model_version)
        rolled_rows = rolled.values(key).annotate(**sums) if key else [rolled.aggregate(**sums)]
        for row in rolled_rows:
            _merge(groups.setdefault(_group_of(row, key), _empty_stats()), row)
    live = Prediction.objects.order_by().filter(cover.live, status=Prediction.Status.OK)
    if model_version:
        live = live.filter(model_version=model_version)
    live_sums = {
        "count": Count("id"),
        "confidence_count": Count("confidence"),
        "confidence_sum": Sum("confidence"),
        "confidence_square_sum": Sum(Cast(F("confidence") * F("confidence"), FloatField())),
        "confidence_min": Min("confidence"),
        "confidence_max": Max("confidence"),
    }
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
    from .selectors import ConfidenceBin

    cover = coverage(start=start, end=end)
    versions: dict[str, tuple[list[int], list[float]]] = {}

    def add(version: str, index: int, count: int, total: float) -> None:
        counts, sums = versions.setdefault(version, ([0] * FINE_BINS, [0.0] * FINE_BINS))
        counts[index] += count
        sums[index] += total

    if cover.end_day is not None:
        rolled = _rolled_days(ConfidenceDay.objects.order_by(), cover)
        if model_version:
            rolled = rolled.filter(model_version=model_version)
        for row in rolled.values("model_version", "bin").annotate(n=Sum("count"), total=Sum("confidence_sum")):
            add(row["model_version"], row["bin"], row["n"], row["total"])
    live = Prediction.objects.order_by().filter(cover.live, status=Prediction.Status.OK, confidence__isnull=False)
    if model_version:
        live = live.filter(model_version=model_version)
    binned = live.annotate(bin=ConfidenceBin(F("confidence"), bins=FINE_BINS)).values("model_version", "bin")
    for row in binned.annotate(n=Count("id"), total=Sum("confidence")):
        add(row["model_version"], min(int(row["bin"]), FINE_BINS - 1), row["n"], row["total"])
    return versions


def confidence_fine_bins(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> list[int]:
    """Counts of successful predictions in 100 confidence bins of width 0.01, over [start, end), all versions together."""
    counts = [0] * FINE_BINS
    for version_counts, _ in confidence_fine_bins_by_version(start=start, end=end, model_version=model_version).values():
        counts = [a + b for a, b in zip(counts, version_counts, strict=True)]
    return counts


def user_counts_all_time(*, model_version: str | None = None) -> dict[str, int]:
    """Successful predictions per user (or session) over all time: the totals plus the predictions not yet added to them."""
    state = RollupState.objects.filter(name=STATE_NAME).values("last_prediction_id").first()
    last_id = state["last_prediction_id"] if state else 0
    totals = UserTotal.objects.order_by()
    if model_version:
        totals = totals.filter(model_version=model_version)
    counts: dict[str, int] = dict(totals.values("user_key").annotate(n=Sum("count")).values_list("user_key", "n"))
    live = Prediction.objects.order_by().filter(status=Prediction.Status.OK, id__gt=last_id)
    if model_version:
        live = live.filter(model_version=model_version)
    for row in live.values("user_id", "session_key").annotate(n=Count("id")):
        key = user_key(user_id=row["user_id"], session_key=row["session_key"])
        if key is not None:
            counts[key] = counts.get(key, 0) + row["n"]
    return counts


def rollups_refresh_job() -> dict:
    """rollups_refresh recorded as a JobRun (outcome and error visible in admin; also the worker's heartbeat for /monitoring/health)."""
    import traceback

    from django.db import DatabaseError

    from .models import JobRun

    job = JobRun.objects.create(name="monitoring_rollups_refresh")
    try:
        outcome = rollups_refresh()
    except DatabaseError as exc:
        JobRun.objects.filter(pk=job.pk).update(
            status=JobRun.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000], traceback=traceback.format_exc()[-20000:]
        )
        raise
    details = {**outcome, "complete_before": outcome["complete_before"].isoformat() if outcome["complete_before"] else None}
    JobRun.objects.filter(pk=job.pk).update(
        status=JobRun.Status.SUCCEEDED, finished_at=timezone.now(), items=outcome["days"], details=details
    )
    return details
