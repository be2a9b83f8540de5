"""Distinct users and predictions per user: over all time (UserTotal) and over any window (UserDay, whole days, plus live SQL)."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, datetime

from django.core.cache import cache
from django.db.models import Count, QuerySet, Sum

from predictions.models import Prediction

from ..models import WHOLE_DAY, RollupState, UserDay, UserTotal
from .days import ROLLED_CACHE_SECONDS, STATE_NAME, by_hour, coverage, hour_field, rolled_cached, rolled_days

# Users whose rolled-up counts are fetched one by one (to add their live predictions); past this, everyone is.
PENDING_USERS_LIMIT = 5000


def user_key(*, user_id: int | None, session_key: str) -> str | None:
    """Signed-in users by id; anonymous sessions by a hash (session keys are credentials); None when neither."""
    if user_id is not None:
        return f"u{user_id}"
    if session_key:
        return "s" + hashlib.sha256(session_key.encode()).hexdigest()[:32]
    return None


def user_number(*, user_id: int | None, session_key: str) -> int | None:
    """UserDay's key: a signed-in user's id, an anonymous session's first 60 bits of sha256 negated; None when neither."""
    if user_id is not None:
        return user_id
    if session_key:
        return -(int(hashlib.sha256(session_key.encode()).hexdigest()[:15], 16) + 1)
    return None


def _predictions_per_user(rows: QuerySet[Prediction]) -> dict[int, int]:
    """User number -> successful predictions among ``rows``, grouped in SQL and hashed here."""
    counts: dict[int, int] = {}
    grouped = rows.filter(status=Prediction.Status.OK).values_list("user_id", "session_key").annotate(n=Count("id")).order_by()
    for user_id, session_key, n in grouped:
        number = user_number(user_id=user_id, session_key=session_key)
        if number is not None:
            counts[number] = counts.get(number, 0) + n
    return counts


def users_day_build(*, day: date, rows: QuerySet[Prediction], hourly: bool) -> None:
    """Replace the day's UserDay rows (``hourly``: per hour too) by the successful predictions per user and version among
    ``rows`` (the day's)."""
    counts: dict[tuple, int] = {}
    grouped = (
        by_hour(rows.filter(status=Prediction.Status.OK), hourly)
        .values(*hour_field(hourly), "model_version", "user_id", "session_key")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in grouped:
        number = user_number(user_id=row["user_id"], session_key=row["session_key"])
        if number is None:
            continue
        version = row["model_version"]
        for hour in {row.get("hour", WHOLE_DAY), WHOLE_DAY}:
            counts[(hour, version, number)] = counts.get((hour, version, number), 0) + row["n"]
    UserDay.objects.filter(day=day).delete()
    UserDay.objects.bulk_create(
        (UserDay(day=day, hour=hour, model_version=version, user=number, count=n) for (hour, version, number), n in counts.items()),
        batch_size=5000,
    )


def _activity(per_user: QuerySet, pending: dict, *, key: str, cache_key: str) -> dict:
    """Distinct users and predictions per user: ``per_user`` (rows of ``key`` and n, grouped in SQL) plus ``pending`` (key -> n).

    ``per_user`` is read as a histogram (n -> users), cached under ``cache_key`` (it changes only with a refresh); each
    pending user moves from its rolled-up n to n plus its pending predictions, looked up by key.
    """
    histogram = cache.get(cache_key)
    if histogram is None:
        histogram = Counter(n for _, n in per_user.values_list(key, "n").iterator(chunk_size=10_000))
        cache.set(cache_key, histogram, ROLLED_CACHE_SECONDS)
    if len(pending) > PENDING_USERS_LIMIT:
        # Many users pending (a long-stopped refresh): read everyone's rolled-up n at once.
        known = dict(per_user.values_list(key, "n"))
    else:
        known = {}
        for start in range(0, len(pending), 500):
            known.update(per_user.filter(**{f"{key}__in": list(pending)[start : start + 500]}).values_list(key, "n"))
    for user, n in pending.items():
        if user in known:
            histogram[known[user]] -= 1
        histogram[known.get(user, 0) + n] += 1
    counts = {n: users for n, users in histogram.items() if users > 0}
    users = sum(counts.values())
    return {
        "unique_users": users,
        "predictions_per_user": {
            "min": min(counts, default=0),
            "max": max(counts, default=0),
            "avg": round(sum(n * number for n, number in counts.items()) / users, 4) if users else 0.0,
        },
    }


def user_activity_all_time(*, model_version: str | None = None) -> dict:
    """Distinct users (or sessions) and predictions per user (min, max, avg) over all time.

    The totals are read once per refresh as a histogram of predictions per user; the users of the predictions not yet
    added to them (since the last refresh) are moved within it here.
    """
    state = RollupState.objects.filter(name=STATE_NAME).values("last_prediction_id", "refreshed_at").first()
    last_id = state["last_prediction_id"] if state else 0
    refreshed_at = state["refreshed_at"].isoformat() if state and state["refreshed_at"] else ""
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
    cache_key = f"rollups:user-totals:{refreshed_at}:{last_id}:{model_version or ''}"
    return _activity(totals.values("user_key").annotate(n=Sum("count")), pending, key="user_key", cache_key=cache_key)


def user_activity_in_window(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """Distinct users (or sessions) and predictions per user (min, max, avg) among the successful predictions of [start, end).

    Whole days from UserDay, the window's edges (today, a start or end within a day) grouped live.
    """
    cover = coverage(start=start, end=end)
    pending: dict[int, int] = {}
    for part in cover.live:
        live = Prediction.objects.order_by().filter(part)
        if model_version:
            live = live.filter(model_version=model_version)
        for number, n in _predictions_per_user(live).items():
            pending[number] = pending.get(number, 0) + n
    per_user = pending
    if cover.rolled:
        rolled = rolled_days(UserDay.objects.order_by(), cover)
        if model_version:
            rolled = rolled.filter(model_version=model_version)
        # One GROUP BY read whole and merged here: the window's edges name thousands of users on a busy
        # day, too many to pass back to the database as a list.
        per_user = rolled_cached(
            cover,
            "users",
            lambda: dict(rolled.values("user").annotate(n=Sum("count")).values_list("user", "n")),
            model_version=model_version or "",
        )
        for number, n in pending.items():
            per_user[number] = per_user.get(number, 0) + n
    return _summary(per_user.values())


def _summary(counts) -> dict:
    counts = list(counts)
    users, total = len(counts), sum(counts)
    return {
        "unique_users": users,
        "predictions_per_user": {
            "min": min(counts, default=0),
            "max": max(counts, default=0),
            "avg": round(total / users, 4) if users else 0.0,
        },
    }
