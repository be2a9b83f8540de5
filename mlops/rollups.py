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

from .jobs import Job, job_recorded
from .models import ConfidenceDay, PredictionDay, RollupState, UserTotal
from .sql import ConfidenceBin, Day

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

    One transaction per day, and per batch of user totals (the watermark moves with its
    batch), so the write lock (SQLite's only one) is held for a day's GROUP BY, never for the
    whole history. Each is serialised by a row lock on the state row and reads under it, so
    concurrent refreshes cannot write stale rows. Readers use only days before
    ``complete_before``, which advances last; a refresh stopped half-way redoes its days next time.
    """
    now = now or timezone.now()
    horizon = now - GRACE
    state, _ = RollupState.objects.get_or_create(name=STATE_NAME)
    if state.refreshed_at is None:
        first = Prediction.objects.order_by().aggregate(first=Min("created_at"))["first"]
        days = _days(_day_of(first), _day_of(now)) if first else []
    else:
        days = _days(_day_of(state.refreshed_at - GRACE), _day_of(now))
    for day in days:
        with transaction.atomic():
            RollupState.objects.select_for_update().get(pk=state.pk)
            _day_refresh(day)
    added = 0
    while True:
        with transaction.atomic():
            state = RollupState.objects.select_for_update().get(pk=state.pk)
            last_id, batch_added, more = _user_totals_add(after_id=state.last_prediction_id, before=horizon, limit=USER_TOTALS_BATCH)
            RollupState.objects.filter(pk=state.pk).update(last_prediction_id=last_id)
        added += batch_added
        if not more:
            break
    with transaction.atomic():
        state = RollupState.objects.select_for_update().get(pk=state.pk)
        state.refreshed_at = now
        state.complete_before = _day_of(horizon)
        state.save(update_fields=["refreshed_at", "complete_before"])
    return {"days": len(days), "user_predictions_added": added, "complete_before": state.complete_before}


def _day_refresh(day: date) -> None:
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
        rows.filter(status=Prediction.Status.OK)
        .annotate(bin=ConfidenceBin(F("confidence"), bins=FINE_BINS))
        .values("model_version", "bin")
        .annotate(n=Count("id"), total=Sum("confidence"))
    )
    for row in binned:
        if row["bin"] is None:
            continue
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


USER_TOTALS_BATCH = 50_000  # predictions added to the user totals per transaction


def _user_totals_add(*, after_id: int, before: datetime, limit: int) -> tuple[int, int, bool]:
    """Add up to ``limit`` predictions with id > after_id to the totals, in id order, stopping at the first one created
    after ``before``. Returns (new watermark, predictions added, whether more may follow).

    Stopping there (rather than skipping it) keeps the watermark below every prediction
    not yet added. Read by primary-key range only: see user_counts_all_time.
    """
    rows = (
        Prediction.objects.order_by("id")
        .filter(id__gt=after_id)
        .values_list("id", "created_at", "status", "model_version", "user_id", "session_key")[:limit]
    )
    last_id = after_id
    read = 0
    more = False
    additions: dict[tuple[str, str], int] = {}
    for pk, created_at, status, version, user_id, session_key in rows.iterator(chunk_size=10_000):
        if created_at >= before:
            break
        read += 1
        more = read == limit
        last_id = pk
        key = user_key(user_id=user_id, session_key=session_key)
        if status == Prediction.Status.OK and key is not None:
            additions[(key, version)] = additions.get((key, version), 0) + 1
    if not additions:
        return last_id, 0, more
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
    return last_id, sum(additions.values()), more


# --- reading -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Which part of a window the rollup answers (whole days ``[first_day, end_day)``) and which live SQL must."""

    first_day: date | None  # None: from the beginning
    end_day: date | None  # None: the rollup answers nothing
    live: tuple[Q, ...]  # time ranges of the window outside the rolled-up days, one simple range each


def coverage(*, start: datetime | None, end: datetime | None) -> Coverage:
    state = RollupState.objects.filter(name=STATE_NAME).values("complete_before").first()
    complete_before = state["complete_before"] if state else None
    window = Q()
    if start is not None:
        window &= Q(created_at__gte=start)
    if end is not None:
        window &= Q(created_at__lt=end)
    if complete_before is None:
        return Coverage(first_day=None, end_day=None, live=(window,))
    first_day = None
    if start is not None:
        first_day = _day_of(start) if _midnight(_day_of(start)) == start else _day_of(start) + timedelta(days=1)
    end_day = complete_before if end is None else min(complete_before, _day_of(end))
    if first_day is not None and first_day >= end_day:
        return Coverage(first_day=None, end_day=None, live=(window,))
    # Separate ranges rather than one OR, so that each is an index range scan.
    live = []
    if start is not None and start < _midnight(first_day):
        live.append(Q(created_at__gte=start, created_at__lt=_midnight(first_day)))
    if end is None or end > _midnight(end_day):
        live.append(Q(created_at__gte=_midnight(end_day)) & (Q(created_at__lt=end) if end is not None else Q()))
    return Coverage(first_day=first_day, end_day=end_day, live=tuple(live))


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

    if cover.end_day is not None:
        rolled = _rolled_days(ConfidenceDay.objects.order_by(), cover)
        if model_version:
            rolled = rolled.filter(model_version=model_version)
        for row in rolled.values("model_version", "bin").annotate(n=Sum("count"), total=Sum("confidence_sum")):
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


def user_activity_all_time(*, model_version: str | None = None) -> dict:
    """Distinct users (or sessions) and predictions per user (min, max, avg) over all time.

    The totals are aggregated in SQL; the users of the predictions not yet added to
    them (since the last refresh) are taken out of that aggregate and counted here.
    """
    state = RollupState.objects.filter(name=STATE_NAME).values("last_prediction_id").first()
    last_id = state["last_prediction_id"] if state else 0
    # Only the id range bounds this read, so the database walks the primary key from last_id
    # (with a status filter SQLite would rather scan the status index); the few rows are sorted out here.
    recent = Prediction.objects.order_by().filter(id__gt=last_id).values_list("status", "model_version", "user_id", "session_key")
    pending: dict[str, int] = {}
    for status, version, user_id, session_key in recent.iterator(chunk_size=5000):
        if status != Prediction.Status.OK or (model_version and version != model_version):
            continue
        key = user_key(user_id=user_id, session_key=session_key)
        if key is not None:
            pending[key] = pending.get(key, 0) + 1
    totals = UserTotal.objects.order_by()
    if model_version:
        totals = totals.filter(model_version=model_version)
    per_user = totals.values("user_key").annotate(n=Sum("count"))
    counts = []
    for start in range(0, len(pending), 500):
        keys = list(pending)[start : start + 500]
        known = dict(per_user.filter(user_key__in=keys).values_list("user_key", "n"))
        counts.extend(known.get(key, 0) + pending[key] for key in keys)
    rest = per_user.exclude(user_key__in=list(pending)) if len(pending) <= 5000 else None
    if rest is None:
        # A long-stopped refresh left many users pending: count everyone here.
        known = dict(per_user.values_list("user_key", "n"))
        counts = [known.pop(key, 0) + n for key, n in pending.items()] + list(known.values())
        summary = {"users": 0, "total": 0, "low": None, "high": None}
    else:
        summary = rest.aggregate(users=Count("user_key"), total=Sum("n"), low=Min("n"), high=Max("n"))
    users = summary["users"] + len(counts)
    total = (summary["total"] or 0) + sum(counts)
    lows = [value for value in (summary["low"], min(counts, default=None)) if value is not None]
    highs = [value for value in (summary["high"], max(counts, default=None)) if value is not None]
    return {
        "unique_users": users,
        "predictions_per_user": {
            "min": min(lows, default=0),
            "max": max(highs, default=0),
            "avg": round(total / users, 4) if users else 0.0,
        },
    }


def rollups_refresh_job() -> dict:
    """rollups_refresh recorded as a ``Job.ROLLUPS_REFRESH`` run (outcome and error in admin; the worker's heartbeat for health)."""
    with job_recorded(Job.ROLLUPS_REFRESH) as record:
        outcome = rollups_refresh()
        record.items = outcome["days"]
        record.details = {**outcome, "complete_before": outcome["complete_before"].isoformat() if outcome["complete_before"] else None}
    return record.details
