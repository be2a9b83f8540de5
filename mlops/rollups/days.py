"""Which part of a window the daily rollups answer (whole UTC days before ``complete_before``) and which live SQL must."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Q, QuerySet

from ..models import RollupState

STATE_NAME = "predictions"
# How long a read of rolled-up days stays cached; its key names the refresh that wrote them, so it is never stale.
ROLLED_CACHE_SECONDS = 900


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


@dataclass(frozen=True)
class Coverage:
    """Which part of a window the rollup answers (whole days ``[first_day, end_day)``) and which live SQL must."""

    first_day: date | None  # None: from the beginning
    end_day: date | None  # None: the rollup answers nothing
    live: tuple[Q, ...]  # time ranges of the window outside the rolled-up days, one simple range each
    refreshed_at: datetime | None = None  # the refresh that wrote the rolled-up days: they change only with it


def coverage(*, start: datetime | None, end: datetime | None) -> Coverage:
    """The rolled-up days of [start, end) and the live time ranges around them (one query: the rollup state)."""
    state = RollupState.objects.filter(name=STATE_NAME).values("complete_before", "refreshed_at").first()
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
        first_day = day_of(start) if midnight(day_of(start)) == start else day_of(start) + timedelta(days=1)
    end_day = complete_before if end is None else min(complete_before, day_of(end))
    if first_day is not None and first_day >= end_day:
        return Coverage(first_day=None, end_day=None, live=(window,))
    # Separate ranges rather than one OR, so that each is an index range scan.
    live = []
    if start is not None and start < midnight(first_day):
        live.append(Q(created_at__gte=start, created_at__lt=midnight(first_day)))
    if end is None or end > midnight(end_day):
        live.append(Q(created_at__gte=midnight(end_day)) & (Q(created_at__lt=end) if end is not None else Q()))
    return Coverage(first_day=first_day, end_day=end_day, live=tuple(live), refreshed_at=state["refreshed_at"])


def rolled_days(queryset: QuerySet, cover: Coverage) -> QuerySet:
    """Rows of a daily rollup ``queryset`` on the days ``cover`` answers from the rollup."""
    queryset = queryset.filter(day__lt=cover.end_day)
    if cover.first_day is not None:
        queryset = queryset.filter(day__gte=cover.first_day)
    return queryset


def rolled_cached(cover: Coverage, name: str, compute, **key):
    """``compute()``, a read of the rolled-up days of ``cover``, cached under the refresh that wrote them.

    Rolled-up days change only when a refresh rewrites them, so an auto-refreshing page reads them once per refresh.
    ``key``: what else the read depends on (model version, bins).
    """
    parts = ",".join(f"{option}={value}" for option, value in sorted(key.items()))
    cache_key = f"rollups:{name}:{cover.refreshed_at.isoformat() if cover.refreshed_at else ''}:{cover.first_day}:{cover.end_day}:{parts}"
    value = cache.get(cache_key)
    if value is None:
        value = compute()
        cache.set(cache_key, value, ROLLED_CACHE_SECONDS)
    return value
