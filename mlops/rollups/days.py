"""Which part of a window the daily rollups answer (whole UTC days before ``complete_before``) and which live SQL must."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce

from django.core.cache import cache
from django.db.models import Q, QuerySet

from ..models import WHOLE_DAY, RollupState
from ..sql import Hour

STATE_NAME = "predictions"
# Days kept with hour rows, counted back from the last complete day: enough for "the last week" to start on an hour.
HOURLY_DAYS = 8
# Older days where the pages' windows start (``mlops.pages.filters.DAY_CHOICES`` beyond a week: the last 30 and 90 days,
# and the periods of 7, 30 and 90 days they are compared with, which start twice as far back) keep hour rows too, each
# with the day after it (where that start falls from midnight until the first refresh of the new day). Other older days
# have day rows only (a window starting there reads the rest of its first day live), which bounds the hour rows at
# (HOURLY_DAYS + 1 + 2 * len(WINDOW_STARTS_BACK)) days' worth.
WINDOW_STARTS_BACK = (14, 30, 60, 90, 180)
_STARTS_BACK = frozenset(back for days in WINDOW_STARTS_BACK for back in (days - 1, days))
# Predictions are committed within moments of their created_at; an hour is final once it ended this long before a refresh.
GRACE = timedelta(seconds=60)
# How long a read of rolled-up days stays cached; its key names the refresh that wrote them, so it is never stale.
ROLLED_CACHE_SECONDS = 900


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def days_between(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, both included."""
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_ceil(moment: datetime) -> datetime:
    floor = hour_floor(moment)
    return floor if floor == moment else floor + timedelta(hours=1)


@dataclass(frozen=True)
class Coverage:
    """Which part of a window the rollups answer and which live SQL must.

    Whole days ``[first_day, end_day)`` come from the day rows, the whole hours at the window's edges (``hours``: day,
    first hour, end hour) from the hour rows, and what is left (a start or end within an hour, the hour not yet rolled
    up) from ``live``, so live SQL reads at most two partial hours however busy a day is.
    """

    first_day: date | None  # None: from the beginning
    end_day: date | None  # None: no whole day is rolled up
    live: tuple[Q, ...]  # time ranges of the window outside the rolled-up hours, one simple range each
    refreshed_at: datetime | None = None  # the refresh that wrote the rolled-up rows: they change only with it
    hours: tuple[tuple[date, int, int], ...] = ()  # (day, first hour, end hour) read from hour rows

    @property
    def rolled(self) -> bool:
        """Whether any part of the window is read from the rollups."""
        return self.end_day is not None or bool(self.hours)


def hourly_first_day(complete_before: date) -> date:
    """The first of the last days, which all have hour rows, for a refresh that completed the days before ``complete_before``."""
    return complete_before - timedelta(days=HOURLY_DAYS)


def window_start_days(complete_before: date) -> set[date]:
    """The older days that keep hour rows because the pages' windows start there (``WINDOW_STARTS_BACK``)."""
    return {complete_before - timedelta(days=back) for back in _STARTS_BACK}


def has_hour_rows(day: date, complete_before: date) -> bool:
    """Whether ``day`` has hour rows after a refresh that completed the days before ``complete_before``."""
    return day >= hourly_first_day(complete_before) or (complete_before - day).days in _STARTS_BACK


def _day_ceil(moment: datetime) -> datetime:
    start = midnight(day_of(moment))
    return start if start == moment else start + timedelta(days=1)


def _hour_spans(first: datetime, end: datetime) -> list[tuple[date, int, int]]:
    """The whole hours of [first, end) (both on the hour) as (day, first hour, end hour), one per day."""
    spans = []
    while first < end:
        day = day_of(first)
        stop = min(end, midnight(day + timedelta(days=1)))
        spans.append((day, first.hour, 24 if stop == midnight(day + timedelta(days=1)) else stop.hour))
        first = stop
    return spans


def coverage(*, start: datetime | None, end: datetime | None) -> Coverage:
    """The rolled-up days and hours of [start, end) and the live time ranges around them (one query: the rollup state).

    A refresh rolls up every hour that ended ``GRACE`` before it; days before ``complete_before`` are whole.
    """
    state = RollupState.objects.filter(name=STATE_NAME).values("complete_before", "refreshed_at").first()
    window = Q()
    if start is not None:
        window &= Q(created_at__gte=start)
    if end is not None:
        window &= Q(created_at__lt=end)
    if not state or state["complete_before"] is None or state["refreshed_at"] is None:
        return Coverage(first_day=None, end_day=None, live=(window,))
    complete_before, refreshed_at = state["complete_before"], state["refreshed_at"]
    rolled_until = hour_floor(refreshed_at - GRACE)
    rolled_from = None
    if start is not None:
        rolled_from = hour_ceil(start) if has_hour_rows(day_of(start), complete_before) else _day_ceil(start)
    rolled_to = rolled_until
    if end is not None:
        rolled_to = min(rolled_until, hour_floor(end) if has_hour_rows(day_of(end), complete_before) else midnight(day_of(end)))
    if rolled_from is not None and rolled_from >= rolled_to:
        return Coverage(first_day=None, end_day=None, live=(window,))
    first_day = None
    if rolled_from is not None:
        first_day = day_of(rolled_from) if midnight(day_of(rolled_from)) == rolled_from else day_of(rolled_from) + timedelta(days=1)
    end_day = min(complete_before, day_of(rolled_to))
    hours: list[tuple[date, int, int]] = []
    if first_day is not None and first_day >= end_day:
        hours = _hour_spans(rolled_from, rolled_to)
        first_day = end_day = None
    else:
        if rolled_from is not None:
            hours += _hour_spans(rolled_from, midnight(first_day))
        hours += _hour_spans(midnight(end_day), rolled_to)
    # Separate ranges rather than one OR, so that each is an index range scan.
    live = []
    if start is not None and start < rolled_from:
        live.append(Q(created_at__gte=start, created_at__lt=rolled_from))
    if end is None or end > rolled_to:
        live.append(Q(created_at__gte=rolled_to) & (Q(created_at__lt=end) if end is not None else Q()))
    return Coverage(first_day=first_day, end_day=end_day, live=tuple(live), refreshed_at=refreshed_at, hours=tuple(hours))


def by_hour(rows: QuerySet, hourly: bool) -> QuerySet:
    """``rows`` with their UTC ``hour`` when a builder writes hour rows (see ``hour_field``)."""
    return rows.annotate(hour=Hour("created_at")) if hourly else rows


def hour_field(hourly: bool) -> tuple[str, ...]:
    """The field a builder groups by besides its own: ``hour`` when it writes hour rows; rows without it are whole days."""
    return ("hour",) if hourly else ()


def rolled_days(queryset: QuerySet, cover: Coverage) -> QuerySet:
    """Rows of a rollup ``queryset`` that ``cover`` reads: day rows of its whole days and hour rows of its edge hours."""
    parts = [Q(day=day, hour__gte=first_hour, hour__lt=end_hour) for day, first_hour, end_hour in cover.hours]
    if cover.end_day is not None:
        whole = Q(hour=WHOLE_DAY, day__lt=cover.end_day)
        parts.append(whole & Q(day__gte=cover.first_day) if cover.first_day is not None else whole)
    return queryset.filter(reduce(operator.or_, parts))


def rolled_cached(cover: Coverage, name: str, compute, **key):
    """``compute()``, a read of the rolled-up days of ``cover``, cached under the refresh that wrote them.

    Rolled-up days change only when a refresh rewrites them, so an auto-refreshing page reads them once per refresh.
    ``key``: what else the read depends on (model version, bins).
    """
    parts = ",".join(f"{option}={value}" for option, value in sorted(key.items()))
    hours = ";".join(f"{day}.{first}-{end}" for day, first, end in cover.hours)
    cache_key = (
        f"rollups:{name}:{cover.refreshed_at.isoformat() if cover.refreshed_at else ''}:{cover.first_day}:{cover.end_day}:{hours}:{parts}"
    )
    value = cache.get(cache_key)
    if value is None:
        value = compute()
        cache.set(cache_key, value, ROLLED_CACHE_SECONDS)
    return value
