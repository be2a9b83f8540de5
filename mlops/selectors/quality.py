"""Quality: accuracy and macro scores from feedback, calibration, stored evaluations and their trend, metric history,
registry versions with their latest evaluation, and stored drift reports."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet, Value
from django.utils import timezone

from predictions.models import NO_FOOD_LABEL, Food, Prediction, feedback_true_label

from .. import rollups
from ..calibration import accuracy_change_test, estimated_accuracy, expected_calibration_error, maximum_calibration_error, reliability_table
from ..classification_metrics import macro_scores
from ..models import DriftReport, Evaluation
from ..sql import Day
from .feedback_cache import feedback_cached
from .traffic import confidence_bins
from .windows import in_window, successful_predictions


def _label_counts(feedback: QuerySet[Prediction]) -> dict:
    """Per (model version, UTC day): per-class true positives, predicted and actual counts of predictions with feedback.

    One GROUP BY whatever the number of days, and one read of the foods named. Labels are
    food keys and the true one is ``feedback_true_label``'s (as in ``evaluate --feedback``),
    so typed names of foods outside the catalogue still count against recall.
    """
    counts: dict = {}
    fields = ("model_version", "day", "food_id", "feedback_correct", "feedback_food_id", "feedback_text")
    groups = list(
        # COUNT(*), not COUNT(id): the partial index prediction_feedback_time_idx holds every column read but the id,
        # so PostgreSQL answers from the index alone (index-only scan) instead of visiting a heap page per answer.
        feedback.annotate(day=Day("created_at")).values(*fields).annotate(count=Count("*")).order_by().values_list(*fields, "count")
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
    """Accuracy and macro precision, recall, F1 from user feedback: per model version and per (UTC) day, all versions together.

    Cached under the window and the feedback's state, so repeated reads of an unchanged window are two index lookups.
    """
    return feedback_cached("performance", _feedback_scores, start=start, end=end, model_version=model_version)


def _feedback_scores(*, start: datetime | None, end: datetime | None, model_version: str | None) -> dict:
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


def _labelled_bins(*, start: datetime | None, end: datetime | None, model_version: str | None, bins: int) -> dict[str, list]:
    """Per model version: the confidence bins of the labelled predictions of [start, end), with their correct counts."""
    labelled: dict[str, list] = {}
    labelled_queryset = feedback_predictions(start=start, end=end, model_version=model_version)
    for row in confidence_bins(labelled_queryset, bins=bins, extra=("model_version",)):
        labelled.setdefault(row["model_version"], []).append(row)
    return labelled


def calibration_by_version(
    *, start: datetime | None, end: datetime | None, model_version: str | None = None, bins: int = 10, recent_days: int = 7
) -> list[dict]:
    """Per model version: ECE and reliability table from feedback in [start, end), and the label-free accuracy estimate.

    The estimate covers the version's predictions in the last ``recent_days`` before
    ``end`` (now when open), next to the accuracy measured from the feedback of the
    same days and how many labels that rests on.
    """
    labelled = feedback_cached("bins", _labelled_bins, start=start, end=end, model_version=model_version, bins=bins)
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
        .annotate(labels=Count("*"), correct=Count("feedback_correct", filter=Q(feedback_correct=True)))  # index-only: see _label_counts
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
    """improving / degrading when the last accuracy is more than 5 % above / below the first (the trend rule API clients
    rely on), else stable; plus a significance test of the change.

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
    for version in sorted(set(by_version) | set(latest), key=version_order):
        ref = by_version.get(version)
        evaluation = latest.get(version)
        source_run_id = ref.run_id if ref else ""
        versions.append(
            {
                "run_id": evaluation.mlflow_run_id if evaluation and evaluation.mlflow_run_id else source_run_id,
                "model_version": version,
                "model_name": ref.name if ref else evaluation.model_name,
                # Never null (clients render new Date(timestamp)): the latest evaluation, else the registration.
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


def version_order(version: str):
    """Sort key of model versions: numbers in numeric order, then any other names."""
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
