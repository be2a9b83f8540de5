"""Daily rollups of the Prediction table, so that monitoring over all data reads thousands of rows, not millions.

``rollups_refresh`` (a periodic task) recomputes whole UTC days from one GROUP BY over
each day's rows: the days that may have received predictions since the last refresh.
Recomputing a day replaces its rows, so a refresh can run any number of times. Only
facts that never change after a prediction is stored are rolled up (status, food,
version, confidence, latency, user); feedback is read live. Per-user totals only grow (a
prediction's user and version never change) and are added incrementally by id.

Readers combine the rollup for complete days with live SQL over the rest of the
window (today, and the partial days at the edges of a start/end), so answers are
exact and current. One module per rollup:

- ``counts``: successful predictions per day, version, food, status, and their confidence bins;
- ``latency``: requests per status and the latency histogram (latency percentiles, ``mlops.percentiles``);
- ``users``: distinct users over all time (UserTotal) and over any window (UserDay);
- ``days``: which part of a window the rollups answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from predictions.models import Prediction

from ..jobs import Job, job_recorded
from ..models import WHOLE_DAY, ConfidenceDay, LatencyDay, PredictionDay, RollupState, UserDay, UserTotal
from .counts import FINE_BINS, confidence_fine_bins, confidence_fine_bins_by_version, counts_day_build, ok_stats_by, ok_stats_total
from .days import GRACE, STATE_NAME, Coverage, coverage, day_of, days_between, has_hour_rows, hourly_first_day, midnight, window_start_days
from .latency import latency_day_build, latency_histograms_by_day, live_latency_histogram, request_totals
from .users import user_activity_all_time, user_activity_in_window, user_key, users_day_build

__all__ = [
    "FINE_BINS",
    "STATE_NAME",
    "Coverage",
    "confidence_fine_bins",
    "confidence_fine_bins_by_version",
    "coverage",
    "latency_histograms_by_day",
    "live_latency_histogram",
    "ok_stats_by",
    "ok_stats_total",
    "request_totals",
    "rollups_refresh",
    "rollups_refresh_job",
    "user_activity_all_time",
    "user_activity_in_window",
    "user_key",
]


# --- writing -------------------------------------------------------------------------------------------------


def rollups_refresh(*, now: datetime | None = None, rebuild: bool = False) -> dict:
    """Bring the rollups up to date: recompute changed days, add new predictions to the user totals. Idempotent.

    One transaction per day, and per batch of user totals (the watermark moves with its
    batch), so the write lock (SQLite's only one) is held for a day's GROUP BY, never for the
    whole history. Each is serialised by a row lock on the state row and reads under it, so
    concurrent refreshes cannot write stale rows. Readers use only days before
    ``complete_before``, which advances last; a refresh stopped half-way redoes its days next time.
    ``rebuild``: recompute every day from the first prediction (after a new rollup table is added).
    """
    now = now or timezone.now()
    horizon = now - GRACE
    complete_before = day_of(horizon)
    state, _ = RollupState.objects.get_or_create(name=STATE_NAME)
    if state.refreshed_at is None or rebuild:
        first = Prediction.objects.order_by().aggregate(first=Min("created_at"))["first"]
        days = days_between(day_of(first), day_of(now)) if first else []
    else:
        days = days_between(day_of(state.refreshed_at - GRACE), day_of(now))
        if state.complete_before is not None:
            # A window of the pages now starts on these older days: rebuilt with their hour rows.
            days = sorted(set(days) | (window_start_days(complete_before) - window_start_days(state.complete_before)))
    for day in days:
        with transaction.atomic():
            RollupState.objects.select_for_update().get(pk=state.pk)
            _day_refresh(day, hourly=has_hour_rows(day, complete_before))
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
        state.complete_before = complete_before
        state.save(update_fields=["refreshed_at", "complete_before"])
    # Hour rows that readers of this refresh never use (``has_hour_rows``), deleted once readers have moved to it.
    kept = window_start_days(complete_before)
    for model in (PredictionDay, ConfidenceDay, LatencyDay, UserDay):
        model.objects.filter(day__lt=hourly_first_day(complete_before)).exclude(hour=WHOLE_DAY).exclude(day__in=kept).delete()
    return {"days": len(days), "user_predictions_added": added, "complete_before": state.complete_before}


def _day_refresh(day, *, hourly: bool) -> None:
    """Rebuild every rollup of ``day`` from its predictions (``hourly``: its hour rows too)."""
    rows = Prediction.objects.order_by().filter(created_at__gte=midnight(day), created_at__lt=midnight(day + timedelta(days=1)))
    counts_day_build(day=day, rows=rows, hourly=hourly)
    latency_day_build(day=day, rows=rows, hourly=hourly)
    users_day_build(day=day, rows=rows, hourly=hourly)


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


def rollups_refresh_job(*, rebuild: bool = False) -> dict:
    """rollups_refresh recorded as a ``Job.ROLLUPS_REFRESH`` run (outcome and error in admin; the worker's heartbeat for health)."""
    with job_recorded(Job.ROLLUPS_REFRESH) as record:
        outcome = rollups_refresh(rebuild=rebuild)
        record.items = outcome["days"]
        record.details = {**outcome, "complete_before": outcome["complete_before"].isoformat() if outcome["complete_before"] else None}
    return record.details
