"""Reads of the mlops app: monitoring figures as SQL aggregates over the Prediction table.

Every function takes keyword-only ``start``/``end`` (end exclusive, either may be None
for an open end) and an optional ``model_version``, and runs a bounded number of
queries whatever the row count. Percentiles are portable: one ORDER BY ... OFFSET
query per percentile, ordered from the nearer end so that the database keeps a small
top-N heap instead of sorting the window.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Avg, CharField, Count, F, FloatField, Func, IntegerField, Max, Min, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from predictions.models import NO_FOOD_LABEL, Food, Prediction, feedback_true_label

from . import rollups
from .calibration import (
    accuracy_change_test,
    estimated_accuracy,
    expected_calibration_error,
    macro_scores,
    maximum_calibration_error,
    reliability_table,
)
from .models import DriftReport, Evaluation


def in_window(queryset: QuerySet, *, start: datetime | None, end: datetime | None, model_version: str | None = None) -> QuerySet:
    """Rows of ``queryset`` created in [start, end) (either end open when None), of one model version if given."""
    if start is not None:
        queryset = queryset.filter(created_at__gte=start)
    if end is not None:
        queryset = queryset.filter(created_at__lt=end)
    if model_version:
        queryset = queryset.filter(model_version=model_version)
    return queryset


def predictions_in_window(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> QuerySet[Prediction]:
    """All recorded requests (ok, rejected, failed) created in [start, end) for a version, unordered."""
    return in_window(Prediction.objects.order_by(), start=start, end=end, model_version=model_version)


def percentile(queryset: QuerySet, *, field: str, fraction: float, count: int, walk_index: bool = False) -> float | None:
    """The ``fraction`` quantile of ``field`` over ``count`` non-null rows, linearly interpolated (like numpy's default).

    Two rows are read at an OFFSET; the order is taken from the nearer end so the
    offset stays below half the rows. ``walk_index``: order by the column itself, so
    that an index on it is walked (right over all rows); otherwise by an expression,
    so that the database filters the window by its time index and sorts what it found
    (right for a window: SQLite would otherwise walk the whole column index).
    """
    if count <= 0:
        return None
    position = fraction * (count - 1)
    lower = math.floor(position)
    weight = position - lower
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
    if len(values) == 1 or weight == 0:
        return float(values[0])
    return float(values[0]) + weight * (float(values[1]) - float(values[0]))


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
    request that has one; each percentile is a sorted read of the window, so a caller may ask
    for fewer of p50, p95, p99 (``percentiles``; the others are None). Rejected and failed
    requests carry no model version, so a version filter counts only its successful requests.
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
    timed = totals["timed"]
    minutes = _window_minutes(start, end, totals.get("first"))
    return {
        "total_requests": total,
        "error_count": totals["server_errors"],
        "client_error_count": totals["client_errors"],
        "server_error_count": totals["server_errors"],
        "error_rate_percent": round(100.0 * totals["server_errors"] / total, 4) if total else 0.0,
        "client_error_rate_percent": round(100.0 * totals["client_errors"] / total, 4) if total else 0.0,
        "avg_response_time_seconds": totals["avg_latency"],
        **{
            f"p{rank}_response_time_seconds": percentile(queryset, field="processing_time_seconds", fraction=rank / 100, count=timed)
            if rank in percentiles
            else None
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


def mirror_backlog() -> dict:
    """How many successful predictions wait to be mirrored into MLflow, and the age in seconds of the oldest (0 when none).

    Given-up ("poison") predictions, past ``NUTRILEARN_MIRROR_MAX_ATTEMPTS``, wait for staff rather than for
    the mirror: they are left out of the backlog and counted as ``given_up_count``.
    """
    max_attempts = settings.NUTRILEARN_MIRROR_MAX_ATTEMPTS
    if connection.vendor == "sqlite":
        # SQLite's planner prefers the (status, created_at) index over the partial index of
        # unmirrored rows, turning a read of a few rows into a scan of every success.
        with connection.cursor() as cursor:
            # The status is a literal: SQLite uses a partial index only when it can prove its condition.
            cursor.execute(
                "SELECT COUNT(CASE WHEN mirror_attempts < %s THEN 1 END), MIN(CASE WHEN mirror_attempts < %s THEN created_at END),"
                " COUNT(CASE WHEN mirror_attempts >= %s THEN 1 END)"
                " FROM predictions_prediction INDEXED BY prediction_unmirrored_idx WHERE status = 'ok' AND mirrored_at IS NULL",
                [max_attempts, max_attempts, max_attempts],
            )
            count, oldest_text, given_up = cursor.fetchone()
        oldest = parse_datetime(oldest_text).replace(tzinfo=UTC) if oldest_text else None
    else:
        pending = Q(mirror_attempts__lt=max_attempts)
        totals = (
            Prediction.objects.order_by()
            .filter(status=Prediction.Status.OK, mirrored_at__isnull=True)
            .aggregate(count=Count("id", filter=pending), oldest=Min("created_at", filter=pending), given_up=Count("id", filter=~pending))
        )
        count, oldest, given_up = totals["count"], totals["oldest"], totals["given_up"]
    age = max((timezone.now() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return {"count": count, "oldest_age_seconds": age, "given_up_count": given_up}


class Day(Func):
    """The UTC calendar day of a datetime as 'YYYY-MM-DD', computed natively by each database (no Python callbacks)."""

    output_field = CharField()
    template = "CAST(CAST(%(expressions)s AS DATE) AS VARCHAR(10))"

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite stores aware datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 10)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(CAST((%(expressions)s AT TIME ZONE 'UTC') AS DATE) AS TEXT)", **extra)


class ConfidenceBin(Func):
    """Equal-width bin index of a confidence in [0, 1] (1.0 lands in an extra bin, folded into the last by the caller)."""

    output_field = IntegerField()

    def __init__(self, expression, *, bins: int):
        super().__init__(expression, Value(bins))

    def as_sql(self, compiler, connection, **extra):
        # Confidences are non-negative, so truncation is floor on every backend.
        return super().as_sql(compiler, connection, template="CAST(FLOOR(%(expressions)s) AS INTEGER)", arg_joiner=" * ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="CAST(%(expressions)s AS INTEGER)", arg_joiner=" * ", **extra)


def successful_predictions(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> QuerySet[Prediction]:
    return predictions_in_window(start=start, end=end, model_version=model_version).filter(status=Prediction.Status.OK)


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
    """Distinct users and predictions per user: from the all-time totals when the window is open, else live over the window."""
    if start is None and end is None:
        return rollups.user_activity_all_time(model_version=model_version)
    return user_activity(successful_predictions(start=start, end=end, model_version=model_version))


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
    """The seed's /metrics body: overview, confidence, top foods and predictions by day, over successful predictions."""
    window = {"start": start, "end": end, "model_version": model_version}
    by_food = rollups.ok_stats_by("food_id", **window)
    by_day = rollups.ok_stats_by("day", **window)
    confidence = _confidence_statistics(rollups.ok_stats_by(None, **window))
    ranked = _food_ranking(by_food, limit=10)
    return {
        "overview": {
            "total_predictions": sum(stats["count"] for stats in by_day.values()),
            "avg_confidence": confidence["mean"],
            "unique_foods": len([food_id for food_id in by_food if food_id]),
            "unique_users": users_of(**window)["unique_users"],
        },
        "confidence": {"avg": confidence["mean"], "min": confidence["min"], "max": confidence["max"]},
        # The seed's shape (a mapping name -> count, which its dashboard reads with Object.entries); the ranked rows beside it.
        "top_foods": top_foods_mapping(ranked),
        "top_foods_ranked": ranked,
        "predictions_by_day": {day: by_day[day]["count"] for day in sorted(by_day)},
    }


def confidence_bins(queryset: QuerySet[Prediction], *, bins: int, extra: tuple[str, ...] = ()) -> list[dict]:
    """Rows of (extra..., bin, count, confidence_sum, correct) over predictions with a confidence; bin folded into 0..bins-1."""
    rows = (
        queryset.annotate(bin=ConfidenceBin(F("confidence"), bins=bins))
        .values(*extra, "bin")
        .annotate(count=Count("id"), confidence_sum=Sum("confidence"), correct=Count("id", filter=Q(feedback_correct=True)))
        .order_by()
    )
    return [{**row, "bin": min(int(row["bin"]), bins - 1)} for row in rows if row["bin"] is not None]


def confidence_histogram(*, start: datetime | None, end: datetime | None, model_version: str | None = None, bins: int = 10) -> dict:
    """Histogram of the confidence of successful predictions in ``bins`` equal-width bins, with summary statistics.

    Bin counts that divide 100 are summed from the rollup's 0.01-wide bins; others are counted live.
    """
    window = {"start": start, "end": end, "model_version": model_version}
    if rollups.FINE_BINS % bins == 0:
        fine = rollups.confidence_fine_bins(**window)
        width = rollups.FINE_BINS // bins
        counts = [sum(fine[index * width : (index + 1) * width]) for index in range(bins)]
    else:
        counts = [0] * bins
        for row in confidence_bins(successful_predictions(**window), bins=bins):
            counts[row["bin"]] += row["count"]
    labels = [f"{index / bins:.2f}-{(index + 1) / bins:.2f}" for index in range(bins)]
    statistics = _confidence_statistics(rollups.ok_stats_by(None, **window))
    statistics["median"] = percentile(
        successful_predictions(**window),
        field="confidence",
        fraction=0.5,
        count=statistics["count"],
        walk_index=start is None and end is None,
    )
    return {
        "bins": labels,
        "counts": counts,
        "total": sum(counts),
        "statistics": {key: statistics[key] for key in ("mean", "median", "std", "min", "max")},
    }


def _label_counts(feedback: QuerySet[Prediction]) -> dict:
    """Per (model version, UTC day): per-class true positives, predicted and actual counts of predictions with feedback.

    One GROUP BY whatever the number of days, and one read of the foods named. Labels are
    food keys and the true one is ``feedback_true_label``'s (as in ``evaluate --feedback``),
    so typed names of foods outside the catalogue still count against recall.
    """
    counts: dict = {}
    fields = ("model_version", "day", "food_id", "feedback_correct", "feedback_food_id", "feedback_text")
    groups = list(
        feedback.annotate(day=Day("created_at")).values(*fields).annotate(count=Count("id")).order_by().values_list(*fields, "count")
    )
    food_ids = {food_id for group in groups for food_id in (group[2], group[4]) if food_id is not None}
    keys = dict(Food.objects.filter(pk__in=food_ids).values_list("pk", "key"))
    for version, day, food_id, correct, feedback_food_id, text, count in groups:
        truth = feedback_true_label(
            predicted_key=keys.get(food_id), correct=correct, feedback_food_key=keys.get(feedback_food_id), feedback_text=text
        )
        if truth is None:
            continue
        said = keys.get(food_id) or NO_FOOD_LABEL
        target = counts.setdefault((version, str(day)), {"true_positive": {}, "predicted": {}, "actual": {}})
        target["predicted"][said] = target["predicted"].get(said, 0) + count
        target["actual"][truth] = target["actual"].get(truth, 0) + count
        if truth == said:
            target["true_positive"][said] = target["true_positive"].get(said, 0) + count
    return counts


def _summed(parts) -> dict:
    total = {"true_positive": {}, "predicted": {}, "actual": {}}
    for part in parts:
        for kind, labels in part.items():
            for label, count in labels.items():
                total[kind][label] = total[kind].get(label, 0) + count
    return total


def feedback_predictions(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> QuerySet[Prediction]:
    """Successful predictions created in [start, end) whose user said whether they were right."""
    return successful_predictions(start=start, end=end, model_version=model_version).filter(feedback_correct__isnull=False)


def feedback_performance(*, start: datetime | None, end: datetime | None, model_version: str | None = None) -> dict:
    """Accuracy and macro precision, recall, F1 from user feedback: per model version and per (UTC) day, all versions together."""
    counts = _label_counts(feedback_predictions(start=start, end=end, model_version=model_version))
    versions = sorted({version for version, _ in counts})
    days = sorted({day for _, day in counts})
    return {
        "per_model_version": [
            {"model_version": version, **macro_scores(**_summed(part for (v, _), part in counts.items() if v == version))}
            for version in versions
        ],
        "per_day": [{"date": day, **macro_scores(**_summed(part for (_, d), part in counts.items() if d == day))} for day in days],
    }


def calibration_by_version(
    *, start: datetime | None, end: datetime | None, model_version: str | None = None, bins: int = 10, recent_days: int = 7
) -> list[dict]:
    """Per model version: ECE and reliability table from feedback in [start, end), and the label-free accuracy estimate.

    The estimate covers the version's predictions in the last ``recent_days`` before
    ``end`` (now when open), next to the accuracy measured from the feedback of the
    same days and how many labels that rests on.
    """
    labelled: dict[str, list] = {}
    labelled_queryset = feedback_predictions(start=start, end=end, model_version=model_version)
    for row in confidence_bins(labelled_queryset, bins=bins, extra=("model_version",)):
        labelled.setdefault(row["model_version"], []).append(row)
    recent_end = end or timezone.now()
    recent_start = max(start, recent_end - timedelta(days=recent_days)) if start else recent_end - timedelta(days=recent_days)
    recent: dict[str, list] = {}
    if rollups.FINE_BINS % bins == 0:
        width = rollups.FINE_BINS // bins
        fine = rollups.confidence_fine_bins_by_version(start=recent_start, end=recent_end, model_version=model_version)
        for version, (counts, sums) in fine.items():
            recent[version] = [
                {"bin": index, "count": sum(counts[index * width : (index + 1) * width]),
                 "confidence_sum": sum(sums[index * width : (index + 1) * width]), "correct": 0}
                for index in range(bins)
            ]  # fmt: skip
    else:
        recent_queryset = successful_predictions(start=recent_start, end=recent_end, model_version=model_version)
        for row in confidence_bins(recent_queryset, bins=bins, extra=("model_version",)):
            recent.setdefault(row["model_version"], []).append(row)
    measured = {
        row["model_version"]: row
        for row in feedback_predictions(start=recent_start, end=recent_end, model_version=model_version)
        .values("model_version")
        .annotate(labels=Count("id"), correct=Count("id", filter=Q(feedback_correct=True)))
        .order_by()
    }
    results = []
    for version in sorted(set(labelled) | set(recent)):
        table = reliability_table(*_bin_arrays(labelled.get(version, []), bins))
        recent_counts, recent_sums, _ = _bin_arrays(recent.get(version, []), bins)
        estimate = estimated_accuracy(recent_counts, recent_sums, table if any(row.count for row in table) else None)
        labels = measured.get(version, {}).get("labels", 0)
        results.append(
            {
                "model_version": version,
                "label_count": sum(row.count for row in table),
                "expected_calibration_error": expected_calibration_error(table),
                "maximum_calibration_error": maximum_calibration_error(table),
                "reliability": [row.as_dict() for row in table],
                "accuracy_estimate": {
                    "window_start": recent_start,
                    "window_end": recent_end,
                    "estimated_accuracy": estimate["calibrated"] if estimate["calibrated"] is not None else estimate["raw"],
                    "mean_confidence": estimate["raw"],
                    "calibrated_bins": estimate["calibrated_bins"],
                    "prediction_count": estimate["prediction_count"],
                    "measured_accuracy": measured[version]["correct"] / labels if labels else None,
                    "measured_label_count": labels,
                },
            }
        )
    return results


def _bin_arrays(rows: list[dict], bins: int):
    counts, sums, correct = [0] * bins, [0.0] * bins, [0] * bins
    for row in rows:
        counts[row["bin"]] += row["count"]
        sums[row["bin"]] += row["confidence_sum"]
        correct[row["bin"]] += row["correct"]
    return counts, sums, correct


TREND_RELATIVE_CHANGE = 0.05
TREND_SIGNIFICANCE = 0.05


def evaluation_history(
    *, start: datetime | None, end: datetime | None, model_version: str | None = None, limit: int = 200
) -> list[Evaluation]:
    """Stored evaluations in [start, end), oldest first (the most recent ``limit``)."""
    queryset = in_window(Evaluation.objects.all(), start=start, end=end, model_version=model_version)
    return list(reversed(queryset.order_by("-created_at", "-id")[:limit]))


def accuracy_trend(history: list[dict]) -> dict:
    """The seed's rule (last accuracy more than 5 % above/below the first: improving/degrading) plus a significance test.

    The test is a two-proportion z-test between the first and last points when both
    say how many samples they rest on; ``significant`` is p < 0.05.
    """
    if not history:
        return {"trend": "no_data", "change_percent": None, "test": None}
    if len(history) < 2:
        return {"trend": "insufficient_data", "change_percent": None, "test": None}
    first, last = history[0], history[-1]
    change = (last["accuracy"] - first["accuracy"]) / first["accuracy"] if first["accuracy"] else None
    if change is None:
        trend = "improving" if last["accuracy"] > 0 else "stable"
    elif change > TREND_RELATIVE_CHANGE:
        trend = "improving"
    elif change < -TREND_RELATIVE_CHANGE:
        trend = "degrading"
    else:
        trend = "stable"
    test = None
    if first.get("sample_count") and last.get("sample_count"):
        test = accuracy_change_test(
            first_correct=round(first["accuracy"] * first["sample_count"]),
            first_total=first["sample_count"],
            last_correct=round(last["accuracy"] * last["sample_count"]),
            last_total=last["sample_count"],
        )
        test["significant"] = test["p_value"] < TREND_SIGNIFICANCE
    return {"trend": trend, "change_percent": None if change is None else round(100 * change, 4), "test": test}


def performance_report(*, start: datetime | None, end: datetime | None, model_version: str | None = None, bins: int = 10) -> dict:
    """Evaluation history with its trend, feedback performance per version and day, and calibration per version."""
    evaluations = evaluation_history(start=start, end=end, model_version=model_version)
    history = [
        {
            "timestamp": evaluation.created_at,
            "accuracy": evaluation.accuracy,
            "precision": evaluation.precision,
            "recall": evaluation.recall,
            "f1_score": evaluation.f1_score,
            "model_version": evaluation.model_version,
            "source": evaluation.source,
            "sample_count": evaluation.sample_count,
            "run_id": evaluation.mlflow_run_id,
        }
        for evaluation in evaluations
    ]
    trend = accuracy_trend(history)
    total = Evaluation.objects.all()
    if model_version:
        total = total.filter(model_version=model_version)
    return {
        "current": history[-1] if history else None,
        "history": history,
        "trend": trend["trend"],
        "trend_change_percent": trend["change_percent"],
        "trend_test": trend["test"],
        "total_evaluations": total.count(),
        "feedback": feedback_performance(start=start, end=end, model_version=model_version),
        "calibration": calibration_by_version(start=start, end=end, model_version=model_version, bins=bins),
    }


PREDICTION_METRICS = ("confidence", "processing_time_seconds")
EVALUATION_METRICS = ("accuracy", "precision", "recall", "f1_score")
HISTORY_METRICS = PREDICTION_METRICS + EVALUATION_METRICS


def metric_history(
    *, metric_name: str, limit: int, start: datetime | None, end: datetime | None, model_version: str | None = None
) -> list[dict]:
    """The last ``limit`` points of a metric, oldest first: per prediction (confidence, latency) or per evaluation.

    Raises ValueError for a metric this project does not record.
    """
    if metric_name in PREDICTION_METRICS:
        rows = (
            successful_predictions(start=start, end=end, model_version=model_version)
            # Through an expression, so that SQLite walks the time index backwards instead of the partial confidence index.
            .alias(metric_value=F(metric_name) + Value(0.0))
            .filter(metric_value__isnull=False)
            .order_by("-created_at", "-id")
            .values("id", "created_at", metric_name, "model_version", "mlflow_run_id", "mlflow_step")[:limit]
        )
        return [
            {
                "timestamp": row["created_at"],
                "value": row[metric_name],
                "step": row["mlflow_step"] if row["mlflow_step"] is not None else row["id"],
                "run_id": row["mlflow_run_id"],
                "prediction_id": row["id"],
                "model_version": row["model_version"],
            }
            for row in reversed(list(rows))
        ]
    if metric_name in EVALUATION_METRICS:
        return [
            {
                "timestamp": evaluation.created_at,
                "value": getattr(evaluation, metric_name),
                "step": index,
                "run_id": evaluation.mlflow_run_id,
                "evaluation_id": evaluation.pk,
                "model_version": evaluation.model_version,
            }
            for index, evaluation in enumerate(evaluation_history(start=start, end=end, model_version=model_version, limit=limit))
        ]
    raise ValueError(f"unknown metric {metric_name!r}; choose one of: {', '.join(HISTORY_METRICS)}")


def recent_predictions_as_runs(*, limit: int, start: datetime | None, end: datetime | None, model_version: str | None = None) -> list[dict]:
    """The most recent successful predictions shaped like the seed's one-run-per-prediction MLflow runs.

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


def model_versions_with_evaluations(
    *,
    registered: list,
    aliases: dict[str, str] | None = None,
    start: datetime | None,
    end: datetime | None,
    model_version: str | None = None,
) -> list[dict]:
    """Registry versions (``registry.VersionRef``: aliases, sha256, tags) joined with their latest evaluation in [start, end).

    Versions that were evaluated but never registered (such as the bundled ImageNet
    model) are listed too, with status "unregistered".
    """
    evaluations = in_window(Evaluation.objects.order_by("-created_at", "-id"), start=start, end=end, model_version=model_version)
    latest: dict[str, Evaluation] = {}
    counts = dict(evaluations.order_by().values("model_version").annotate(count=Count("id")).values_list("model_version", "count"))
    for evaluation in evaluations.distinct():
        latest.setdefault(evaluation.model_version, evaluation)
        if len(latest) == len(counts):
            break
    by_version = {ref.version: ref for ref in registered if not model_version or ref.version == model_version}
    # MLflow's version search does not always fill in aliases; the registered model's alias map is authoritative.
    aliases_by_version: dict[str, set[str]] = {version: set(ref.aliases) for version, ref in by_version.items()}
    for alias, version in (aliases or {}).items():
        aliases_by_version.setdefault(str(version), set()).add(alias)
    versions = []
    for version in sorted(set(by_version) | set(latest), key=_version_order):
        ref = by_version.get(version)
        evaluation = latest.get(version)
        source_run_id = ref.run_id if ref else ""
        versions.append(
            {
                "run_id": evaluation.mlflow_run_id if evaluation and evaluation.mlflow_run_id else source_run_id,
                "model_version": version,
                "model_name": ref.name if ref else evaluation.model_name,
                # Never null (the seed's dashboard renders new Date(timestamp)): the latest evaluation, else the registration.
                "timestamp": evaluation.created_at if evaluation else ref.created_at,
                "registered_at": ref.created_at if ref else None,
                "metrics": {
                    name: (getattr(evaluation, name) if evaluation else None) for name in ("accuracy", "precision", "recall", "f1_score")
                },
                "status": "registered" if ref else "unregistered",
                "registered": ref is not None,
                "aliases": sorted(aliases_by_version.get(version, ())) if ref else [],
                "sha256": ref.sha256 if ref else "",
                "tags": dict(ref.tags) if ref else {},
                "source_run_id": source_run_id,
                "evaluation": None
                if evaluation is None
                else {"source": evaluation.source, "sample_count": evaluation.sample_count, "count": counts.get(version, 0)},
            }
        )
    return versions


def _version_order(version: str):
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


def drift_report_find(
    *,
    baseline_start: datetime,
    recent_start: datetime,
    recent_end: datetime,
    model_version: str | None,
    threshold: float,
    tolerance: timedelta = timedelta(minutes=10),
) -> DriftReport | None:
    """A stored report for the same windows (their ends within ``tolerance``), version and threshold, newest first; None if none."""
    candidates = DriftReport.objects.filter(
        model_version=model_version or "",
        recent_end__gte=recent_end - tolerance,
        recent_end__lte=recent_end,
    ).order_by("-recent_end", "-id")[:20]
    for report in candidates:
        shift = recent_end - report.recent_end
        same_windows = (
            abs(report.recent_start - (recent_start - shift)) < timedelta(seconds=1)
            and abs(report.baseline_start - (baseline_start - shift)) < timedelta(seconds=1)
            and report.baseline_end == report.recent_start
        )
        if same_windows and report.results.get("threshold") is not None and math.isclose(report.results["threshold"], threshold):
            return report
    return None
