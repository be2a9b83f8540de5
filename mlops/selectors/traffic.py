"""Traffic: requests and their errors and latency, successful predictions (per food, day and user), confidence, the mirror backlog.

Aggregates over all data combine the daily rollups (``mlops.rollups``) for finished days
with live SQL for the rest of the window.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import datetime, timedelta
from itertools import accumulate

from django.db import connection
from django.db.models import Avg, Count, F, FloatField, Max, Min, Q, QuerySet, Sum, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone

from predictions.models import Food, Prediction, mirror_given_up_condition

from .. import percentiles, rollups
from ..percentiles import histogram_percentile
from ..sql import ConfidenceBin
from .windows import predictions_in_window, successful_predictions


def percentile(queryset: QuerySet, *, field: str, fraction: float, count: int, walk_index: bool = False) -> float | None:
    """The ``fraction`` quantile of ``field`` over ``count`` non-null rows, as ``mlops.percentiles`` defines it.

    Only the two rows around the quantile are read, at an OFFSET; the order is taken from
    the nearer end so the offset stays below half the rows. ``walk_index``: order by the
    column itself, so that an index on it is walked (right over all rows); otherwise by an
    expression, so that the database filters the window by its time index and sorts what
    it found (right for a window: SQLite would otherwise walk the whole column index).
    """
    if count <= 0:
        return None
    lower, weight = percentiles.rank_position(fraction, count)
    if walk_index:
        key = F(field)
        rows = queryset.filter(**{f"{field}__isnull": False}).order_by()
    else:
        key = F("percentile_key")
        rows = queryset.alias(percentile_key=F(field) + Value(0.0)).filter(percentile_key__isnull=False).order_by()
    if lower <= (count - 1) / 2:
        values = list(rows.order_by(key.asc()).values_list(field, flat=True)[lower : lower + 2])
    else:
        # Descending: the value at ascending index i sits at descending index count-1-i.
        upper_desc = count - 1 - min(lower + 1, count - 1)
        descending = list(rows.order_by(key.desc()).values_list(field, flat=True)[upper_desc : upper_desc + 2])
        values = list(reversed(descending)) if lower + 1 <= count - 1 else descending[:1]
    if not values:
        return None
    return percentiles.interpolate(values[0], values[1] if len(values) > 1 else None, weight)


def _window_minutes(start: datetime | None, end: datetime | None, first: datetime | None) -> float | None:
    end = end or timezone.now()
    start = start or first
    if start is None or end <= start:
        return None
    return (end - start).total_seconds() / 60


def request_stats(
    *, start: datetime | None, end: datetime | None, model_version: str | None = None, percentiles: tuple[int, ...] = (50, 95, 99)
) -> dict:
    """Request count, errors (5xx failures) apart from rejections (4xx bad input), their rates and latency percentiles in [start, end).

    An error is a request that failed on the server: ``error_count`` and
    ``error_rate_percent`` count those, and drive health and the error-rate alert;
    rejected uploads are the client's mistake, reported as ``client_error_count`` and
    ``client_error_rate_percent``. Latency is the recorded processing time of every
    request that has one; its percentiles are histogram percentiles (``mlops.percentiles``,
    within 1 % of the exact ones), read from the daily rollups and the window's edges live;
    a caller may ask for fewer of p50, p95, p99 (``percentiles``; the others are None).
    Rejected and failed requests carry no model version, so a version filter counts only
    its successful requests.
    """
    totals = rollups.request_totals(start=start, end=end, model_version=model_version)
    total = totals["total"]
    first = None
    if start is None and total:
        # An open window's throughput is measured from its first request (the time index's first entry).
        first = predictions_in_window(start=None, end=end, model_version=model_version).aggregate(first=Min("created_at"))["first"]
    minutes = _window_minutes(start, end, first)
    histogram = totals["histogram"]
    return {
        "total_requests": total,
        "error_count": totals["failed"],
        "client_error_count": totals["rejected"],
        "server_error_count": totals["failed"],
        "error_rate_percent": round(100.0 * totals["failed"] / total, 4) if total else 0.0,
        "client_error_rate_percent": round(100.0 * totals["rejected"] / total, 4) if total else 0.0,
        "avg_response_time_seconds": totals["latency_sum"] / totals["timed"] if totals["timed"] else None,
        **{
            f"p{rank}_response_time_seconds": histogram_percentile(histogram, rank / 100) if rank in percentiles else None
            for rank in (50, 95, 99)
        },
        "throughput_per_minute": round(total / minutes, 4) if minutes else 0.0,
    }


def _variance(mean_square: float, mean: float) -> float:
    """E[x^2] - E[x]^2, with the rounding noise of equal values (confidences are in [0, 1]) taken as zero."""
    variance = mean_square - mean**2
    return variance if variance > 1e-12 else 0.0


def confidence_summary(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """count, mean, median, std (population), min and max of the confidence of successful predictions in [start, end)."""
    # No "confidence IS NOT NULL" term: it would tempt SQLite into walking the partial confidence index.
    queryset = predictions_in_window(start=start, end=end, model_version=model_version).filter(status=Prediction.Status.OK)
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
    variance = _variance(totals["mean_square"], totals["mean"])
    return {
        "count": count,
        "mean": totals["mean"],
        "median": percentile(queryset, field="confidence", fraction=0.5, count=count),
        "std": math.sqrt(variance),
        "min": totals["min"],
        "max": totals["max"],
    }


# The rows of the partial index prediction_unmirrored_idx (Prediction.objects.unmirrored()), with the index named:
# SQLite's planner would rather scan the (status, created_at) index over every success, and it uses a partial
# index only when the query repeats the index's condition literally (Django sends the status as a parameter).
_SQLITE_UNMIRRORED_IDS = (
    "SELECT id FROM predictions_prediction INDEXED BY prediction_unmirrored_idx WHERE mirrored_at IS NULL AND status = 'ok'"
)


def mirror_backlog() -> dict:
    """How many successful predictions wait to be mirrored into MLflow, and the age in seconds of the oldest (0 when none).

    Given-up predictions (``Prediction.objects.mirror_given_up()``) wait for staff rather than for
    the mirror: they are left out of the backlog and counted as ``given_up_count``.
    """
    if connection.vendor == "sqlite":
        unmirrored = Prediction.objects.filter(id__in=RawSQL(_SQLITE_UNMIRRORED_IDS, ()))
    else:
        unmirrored = Prediction.objects.unmirrored()
    given_up = mirror_given_up_condition()
    totals = unmirrored.order_by().aggregate(
        count=Count("id", filter=~given_up), oldest=Min("created_at", filter=~given_up), given_up=Count("id", filter=given_up)
    )
    oldest = totals["oldest"]
    age = max((timezone.now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return {"count": totals["count"], "oldest_age_seconds": age, "given_up_count": totals["given_up"]}


def _food_ranking(stats_by_food: dict, *, limit: int) -> list[dict]:
    """[{food, name, count}] of the most frequent foods; food id 0 (no food recognised) is listed as food None."""
    ranked = sorted(stats_by_food.items(), key=lambda item: (-item[1]["count"], item[0]))[:limit]
    foods = {
        pk: (key, name) for pk, key, name in Food.objects.filter(pk__in=[pk for pk, _ in ranked]).values_list("pk", "key", "display_name")
    }
    return [
        {"food": foods.get(pk, (None,))[0], "name": foods.get(pk, (None, "No food recognised"))[1], "count": stats["count"]}
        for pk, stats in ranked
    ]


def user_activity(queryset: QuerySet[Prediction]) -> dict:
    """Distinct users (signed-in users by id, anonymous ones by session) and predictions per user (min, max, avg), live."""
    signed_in = queryset.filter(user__isnull=False).values("user_id").annotate(count=Count("id")).order_by()
    anonymous = queryset.filter(user__isnull=True).exclude(session_key="").values("session_key").annotate(count=Count("id")).order_by()
    groups, total, low, high = 0, 0, None, None
    for grouped in (signed_in, anonymous):
        part = grouped.aggregate(groups=Count("count"), total=Sum("count"), low=Min("count"), high=Max("count"))
        if not part["groups"]:
            continue
        groups += part["groups"]
        total += part["total"]
        low = part["low"] if low is None else min(low, part["low"])
        high = part["high"] if high is None else max(high, part["high"])
    return {
        "unique_users": groups,
        "predictions_per_user": {"min": low or 0, "max": high or 0, "avg": round(total / groups, 4) if groups else 0.0},
    }


def users_of(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """Distinct users and predictions per user: from the all-time totals when the window is open, else from the daily ones."""
    if start is None and end is None:
        return rollups.user_activity_all_time(model_version=model_version)
    return rollups.user_activity_in_window(start=start, end=end, model_version=model_version)


def prediction_statistics(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """Successful predictions in [start, end): total, top 10 foods, per day, distinct users and predictions per user."""
    window = {"start": start, "end": end, "model_version": model_version}
    by_day = rollups.ok_stats_by("day", **window)
    activity = users_of(**window)
    return {
        "total_predictions": sum(stats["count"] for stats in by_day.values()),
        "by_food": _food_ranking(rollups.ok_stats_by("food_id", **window), limit=10),
        "by_day": {day: by_day[day]["count"] for day in sorted(by_day)},
        "unique_users": activity["unique_users"],
        "predictions_per_user": activity["predictions_per_user"],
    }


def _confidence_statistics(stats: dict) -> dict:
    count = stats["confidence_count"]
    if not count:
        return {"count": 0, "mean": None, "std": None, "min": None, "max": None}
    mean = stats["confidence_sum"] / count
    variance = _variance(stats["confidence_square_sum"] / count, mean)
    return {"count": count, "mean": mean, "std": math.sqrt(variance), "min": stats["confidence_min"], "max": stats["confidence_max"]}


def top_foods_mapping(ranked: list[dict]) -> dict[str, int]:
    """Food display name -> count, most frequent first (names shared by two foods are summed)."""
    mapping: dict[str, int] = {}
    for row in ranked:
        mapping[row["name"]] = mapping.get(row["name"], 0) + row["count"]
    return mapping


def metrics_overview(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """The body of GET /api/v1/mlops/metrics (a compatible envelope, see mlops.api): overview, confidence, top foods and
    predictions by day, over successful predictions."""
    window = {"start": start, "end": end, "model_version": model_version}
    by_food = rollups.ok_stats_by("food_id", **window)
    by_day = rollups.ok_stats_by("day", **window)
    confidence = _confidence_statistics(rollups.ok_stats_total(by_food))
    ranked = _food_ranking(by_food, limit=10)
    return {
        "overview": {
            "total_predictions": sum(stats["count"] for stats in by_day.values()),
            "avg_confidence": confidence["mean"],
            "unique_foods": len([food_id for food_id in by_food if food_id]),
            "unique_users": users_of(**window)["unique_users"],
        },
        "confidence": {"avg": confidence["mean"], "min": confidence["min"], "max": confidence["max"]},
        # A mapping name -> count, the shape existing clients read with Object.entries; the ranked rows beside it.
        "top_foods": top_foods_mapping(ranked),
        "top_foods_ranked": ranked,
        "predictions_by_day": {day: by_day[day]["count"] for day in sorted(by_day)},
    }


def confidence_bins(queryset: QuerySet[Prediction], *, bins: int, extra: tuple[str, ...] = ()) -> list[dict]:
    """Rows of (extra..., bin, count, confidence_sum, correct) over predictions with a confidence; bin folded into 0..bins-1."""
    rows = (
        queryset.annotate(bin=ConfidenceBin(F("confidence"), bins=bins))
        .values(*extra, "bin")
        # No id read, so that feedback rows are answered from the covering index prediction_feedback_time_idx alone.
        .annotate(count=Count("*"), confidence_sum=Sum("confidence"), correct=Count("feedback_correct", filter=Q(feedback_correct=True)))
        .order_by()
    )
    return [{**row, "bin": min(int(row["bin"]), bins - 1)} for row in rows if row["bin"] is not None]


def confidence_histogram(*, start: datetime | None, end: datetime | None, model_version: str | None = None, bins: int = 10) -> dict:
    """Histogram of the confidence of successful predictions in ``bins`` equal-width bins, with summary statistics.

    Bin counts that divide 100 are summed from the rollup's 0.01-wide bins; others are counted live.
    """
    window = {"start": start, "end": end, "model_version": model_version}
    fine = rollups.confidence_fine_bins(**window)
    if rollups.FINE_BINS % bins == 0:
        width = rollups.FINE_BINS // bins
        counts = [sum(fine[index * width : (index + 1) * width]) for index in range(bins)]
    else:
        counts = [0] * bins
        for row in confidence_bins(successful_predictions(**window), bins=bins):
            counts[row["bin"]] += row["count"]
    labels = [f"{index / bins:.2f}-{(index + 1) / bins:.2f}" for index in range(bins)]
    statistics = _confidence_statistics(rollups.ok_stats_by(None, **window))
    statistics["median"] = _median_in_fine_bins(successful_predictions(**window), fine, count=statistics["count"])
    if statistics["count"] and statistics["median"] is None:  # rows deleted since the refresh: rank the window's rows
        rows, everything = successful_predictions(**window), start is None and end is None
        statistics["median"] = percentile(rows, field="confidence", fraction=0.5, count=statistics["count"], walk_index=everything)
    return {
        "bins": labels,
        "counts": counts,
        "total": sum(counts),
        "statistics": {key: statistics[key] for key in ("mean", "median", "std", "min", "max")},
    }


def _median_in_fine_bins(queryset: QuerySet[Prediction], fine: list[int], *, count: int) -> float | None:
    """The exact median confidence of ``queryset`` (``count`` rows with one, ``fine`` their counts per 0.01 bin), as
    ``mlops.percentiles`` defines it: the counts name the bin of each of the two middle ranks, so only rows of that bin are
    read (through the confidence index), never the rows below it."""
    if count <= 0:
        return None
    lower, weight = percentiles.rank_position(0.5, count)
    values = [_confidence_at_rank(queryset, fine, rank) for rank in (lower, lower + 1) if rank < count]
    if None in values:
        return None
    return percentiles.interpolate(values[0], values[1] if len(values) > 1 else None, weight)


def _confidence_at_rank(queryset: QuerySet[Prediction], fine: list[int], rank: int) -> float | None:
    """The confidence at ascending ``rank``; None when the bin holds fewer rows than ``fine`` counts (rows deleted)."""
    cumulative = list(accumulate(fine))
    index = bisect_right(cumulative, rank)  # the bin holding the rank-th value
    before = cumulative[index - 1] if index else 0
    # The range narrows the read to the bin (with a margin for rounding at its edges); the bin expression, the one the
    # counts were made with, decides membership.
    rows = queryset.alias(fine_bin=ConfidenceBin(F("confidence"), bins=rollups.FINE_BINS)).filter(
        confidence__gte=index / rollups.FINE_BINS - 1e-9
    )
    if index == rollups.FINE_BINS - 1:
        rows = rows.filter(fine_bin__gte=index)  # 1.0 falls in an extra bin, folded into the last
    else:
        rows = rows.filter(confidence__lt=(index + 1) / rollups.FINE_BINS + 1e-9, fine_bin=index)
    found = list(rows.order_by("confidence").values_list("confidence", flat=True)[rank - before : rank - before + 1])
    return found[0] if found else None


def recent_predictions_as_runs(*, limit: int, start: datetime | None, end: datetime | None, model_version: str | None = None) -> list[dict]:
    """The most recent successful predictions, each shaped like an MLflow run of its own: what clients of
    runs?run_type=prediction read (params food_name, user_id; metrics confidence, processing_time_seconds).

    ``run_id`` is the serving run the prediction was mirrored into (empty until mirrored).
    """
    rows = (
        successful_predictions(start=start, end=end, model_version=model_version)
        .select_related("food")
        .order_by("-created_at", "-id")[:limit]
    )
    runs = []
    for prediction in rows:
        finished = prediction.created_at + timedelta(seconds=prediction.processing_time_seconds or 0)
        food_name = prediction.food.display_name if prediction.food else "No food recognised"
        runs.append(
            {
                "run_id": prediction.mlflow_run_id,
                "mlflow_run_id": prediction.mlflow_run_id,
                "prediction_id": prediction.pk,
                "experiment_id": None,
                "status": "FINISHED",
                "start_time": prediction.created_at.isoformat(),
                "end_time": finished.isoformat(),
                "metrics": {"confidence": prediction.confidence, "processing_time_seconds": prediction.processing_time_seconds},
                "params": {
                    "food_name": food_name,
                    "food": prediction.food.key if prediction.food else None,
                    # Session keys are credentials: anonymous users stay anonymous here.
                    "user_id": str(prediction.user_id) if prediction.user_id else "anonymous",
                    "model_version": prediction.model_version,
                },
                "tags": {"run_type": "prediction", "model_name": prediction.model_name, "model_version": prediction.model_version},
            }
        )
    return runs
