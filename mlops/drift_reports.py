"""Drift reports: read a baseline and a recent window of predictions, run the drift checks, store the report.

Reading stays cheap whatever the table size: food counts are one GROUP BY per window;
the per-prediction numbers (confidence, image statistics, embeddings) are read for a
seeded sample of about ``NUTRILEARN_DRIFT_SAMPLE_SIZE`` rows per window, chosen in SQL
by a multiplicative (Fibonacci) hash of the primary key: the same rows for the same
seed, spread evenly over the window. The MMD test subsamples the embeddings further
(seeded, NumPy).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Count, F, QuerySet
from django.utils import timezone

from predictions.models import Food, Prediction

from . import mlflow_store
from .drift import INSUFFICIENT_DATA, DriftAnalysis, DriftConfig, WindowSample, drift_analyse
from .jobs import Job, job_failure_record, job_recorded
from .models import DriftReport

logger = logging.getLogger(__name__)

NO_FOOD_KEY = "no_food"
TOP_FOODS = 5
IMAGE_FIELDS = ("brightness", "contrast", "sharpness", "image_width", "image_height")

# Sampling in SQL: rows whose (id * A + seed * B) mod M falls below fraction * M. With A/M
# close to the golden ratio (Fibonacci hashing) consecutive ids land far apart, so the
# sample is spread evenly over the window, never in runs of neighbouring rows. The
# products stay within 64 bits for ids below 6.9e9.
_HASH_MODULUS = 2_147_483_647  # 2^31 - 1, prime
_HASH_MULTIPLIER = 1_327_217_885  # round(0.6180339887 * M), odd
_HASH_SEED_STEP = 1_000_003


def drift_config(*, threshold: float | None = None) -> DriftConfig:
    """The drift configuration from settings; ``threshold`` overrides the drift-score (Jensen-Shannon) threshold."""
    return DriftConfig(
        alpha=settings.NUTRILEARN_DRIFT_ALPHA,
        js_threshold=settings.NUTRILEARN_DRIFT_THRESHOLD if threshold is None else float(threshold),
        distance_threshold=settings.NUTRILEARN_DRIFT_DISTANCE_THRESHOLD,
        psi_threshold=settings.NUTRILEARN_DRIFT_PSI_THRESHOLD,
        min_samples=settings.NUTRILEARN_DRIFT_MIN_SAMPLES,
        mmd_sample_size=settings.NUTRILEARN_DRIFT_MMD_SAMPLE_SIZE,
        mmd_permutations=settings.NUTRILEARN_DRIFT_MMD_PERMUTATIONS,
        food_permutations=settings.NUTRILEARN_DRIFT_FOOD_PERMUTATIONS,
        seed=settings.NUTRILEARN_DRIFT_SEED,
    )


@dataclass(frozen=True)
class WindowRead:
    sample: WindowSample
    total: int  # successful predictions in the window
    sampled: int  # rows read for the numeric tests
    names: dict[str, str]  # food key -> display name


def _window_queryset(*, start: datetime, end: datetime, model_version: str | None) -> QuerySet[Prediction]:
    queryset = Prediction.objects.order_by().filter(status=Prediction.Status.OK, created_at__gte=start, created_at__lt=end)
    if model_version:
        queryset = queryset.filter(model_version=model_version)
    return queryset


def _food_counts(queryset: QuerySet[Prediction]) -> tuple[dict[str, int], dict[str, str]]:
    """Predictions per food in one GROUP BY; photos with no food recognised count as the category ``no_food``."""
    by_id = dict(queryset.values_list("food_id").annotate(n=Count("id")).values_list("food_id", "n"))
    rows = Food.objects.filter(id__in=[food_id for food_id in by_id if food_id]).values_list("id", "key", "display_name")
    foods = {food_id: (key, name) for food_id, key, name in rows}
    counts: dict[str, int] = {}
    names: dict[str, str] = {NO_FOOD_KEY: "No food recognised"}
    for food_id, count in by_id.items():
        key, name = foods.get(food_id, (NO_FOOD_KEY, names[NO_FOOD_KEY]))
        counts[key] = counts.get(key, 0) + count
        names[key] = name
    return counts, names


def _sampled(queryset: QuerySet[Prediction], *, total: int, sample_size: int, seed: int) -> QuerySet[Prediction]:
    if total <= sample_size:
        return queryset
    cutoff = math.ceil(_HASH_MODULUS * sample_size / total)
    bucket = (F("id") * _HASH_MULTIPLIER + seed * _HASH_SEED_STEP) % _HASH_MODULUS
    return queryset.alias(sample_bucket=bucket).filter(sample_bucket__lt=cutoff)


def _embeddings(rows: list) -> np.ndarray:
    vectors = [np.frombuffer(row, dtype=np.float32) for row in rows if row is not None]
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32)
    dim = vectors[0].shape[0]
    return np.vstack([vector for vector in vectors if vector.shape[0] == dim])


def window_read(*, start: datetime, end: datetime, model_version: str | None, sample_size: int, seed: int) -> WindowRead:
    """Food counts of every successful prediction in [start, end) and a seeded sample of their numbers."""
    queryset = _window_queryset(start=start, end=end, model_version=model_version)
    counts, names = _food_counts(queryset)
    total = sum(counts.values())
    rows = list(
        _sampled(queryset, total=total, sample_size=sample_size, seed=seed).values_list("confidence", *IMAGE_FIELDS, "embedding")
    )
    columns = list(zip(*rows, strict=True)) if rows else [()] * (len(IMAGE_FIELDS) + 2)
    numbers = {
        name: np.array([np.nan if value is None else value for value in column], dtype=np.float64)
        for name, column in zip(("confidence", *IMAGE_FIELDS), columns[:-1], strict=True)
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = numbers["image_width"] / numbers["image_height"]
    numeric = {
        "confidence": numbers["confidence"],
        "brightness": numbers["brightness"],
        "contrast": numbers["contrast"],
        "sharpness": numbers["sharpness"],
        "width": numbers["image_width"],
        "height": numbers["image_height"],
        "aspect": aspect,
    }
    sample = WindowSample(food_counts=counts, numeric=numeric, embeddings=_embeddings(list(columns[-1])))
    return WindowRead(sample=sample, total=total, sampled=len(rows), names=names)


def _top_foods(read: WindowRead) -> dict[str, int]:
    ranked = sorted(read.sample.food_counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_FOODS]
    return {read.names.get(key, key): count for key, count in ranked}


def _reason(baseline: WindowRead, recent: WindowRead, config: DriftConfig) -> str | None:
    if baseline.total == 0:
        return "no_baseline_data"
    if recent.total == 0:
        return "no_recent_data"
    if min(baseline.total, recent.total) < config.min_samples:
        return INSUFFICIENT_DATA
    return None


def _recommendation(analysis: DriftAnalysis, baseline: WindowRead, recent: WindowRead, config: DriftConfig) -> str:
    if analysis.verdict == INSUFFICIENT_DATA:
        return (
            f"Not enough predictions to test for drift: {baseline.total} in the baseline window and {recent.total} "
            f"in the recent window; each needs at least {config.min_samples}."
        )
    if analysis.drift_detected:
        advice = (
            f"Drift in {', '.join(analysis.drifting_checks)}. Consider retraining the model: review recent photos, "
            "label a sample through feedback and evaluate the model on it."
        )
    else:
        advice = "Model is stable: no check found drift between the windows."
    if analysis.untested:
        by_reason: dict[str, list[str]] = {}
        for entry in analysis.untested:
            by_reason.setdefault(entry.reason, []).append(entry.name)
        advice += " Not tested: " + "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items()) + "."
    return advice


def _drift_score_figures(analysis: DriftAnalysis) -> dict:
    """The drift score with what a reader needs beside it: the plug-in distance, the chance level, the sample sizes."""
    test = analysis.check("prediction").test("jensen_shannon")
    return {
        "drift_score_definition": (
            "Jensen-Shannon distance (base 2, 0-1) between the food distributions of the two windows, corrected for chance: "
            "sqrt(max(0, observed divergence - its mean over random relabellings of the two windows)); "
            "about 0 when nothing changed, whatever the window sizes"
        ),
        "drift_score_raw": test.statistic,
        "drift_score_chance": test.details.get("chance_distance"),
        "drift_score_samples": {"baseline": test.n_baseline, "recent": test.n_recent},
    }


def _finite_or_none(value):
    """JSON columns (PostgreSQL) refuse NaN and infinity."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(item) for item in value]
    return value


def drift_report_compute(
    *, baseline_start: datetime, baseline_end: datetime, recent_start: datetime, recent_end: datetime,
    model_version: str | None = None, threshold: float | None = None, scheduled: bool = False,
) -> DriftReport:
    """Compute and store a drift report for the two windows (ends exclusive); nothing goes to MLflow.

    Always stores a new row. ``threshold`` is the drift-score threshold (settings default).
    ``scheduled`` marks the periodic reports that alert rules read. Safe in a web request:
    only the periodic task (``drift_report_scheduled``, on the mlflow queue) logs to MLflow.
    """
    config = drift_config(threshold=threshold)
    sample_size = settings.NUTRILEARN_DRIFT_SAMPLE_SIZE
    baseline = window_read(start=baseline_start, end=baseline_end, model_version=model_version, sample_size=sample_size, seed=config.seed)
    recent = window_read(start=recent_start, end=recent_end, model_version=model_version, sample_size=sample_size, seed=config.seed)
    analysis = drift_analyse(baseline=baseline.sample, recent=recent.sample, config=config)
    results = {
        "drift_detected": analysis.drift_detected,
        "drift_score": analysis.drift_score,
        **_drift_score_figures(analysis),
        "threshold": config.js_threshold,
        "verdict": analysis.verdict,
        "reason": _reason(baseline, recent, config),
        "recommendation": _recommendation(analysis, baseline, recent, config),
        "scheduled": scheduled,
        "baseline_predictions": baseline.total,
        "recent_predictions": recent.total,
        "baseline_sampled": baseline.sampled,
        "recent_sampled": recent.sampled,
        "top_baseline_foods": _top_foods(baseline),
        "top_recent_foods": _top_foods(recent),
        "baseline_food_counts": dict(baseline.sample.food_counts),
        "recent_food_counts": dict(recent.sample.food_counts),
        "windows": {
            "baseline_start": baseline_start.isoformat(),
            "baseline_end": baseline_end.isoformat(),
            "recent_start": recent_start.isoformat(),
            "recent_end": recent_end.isoformat(),
        },
        "config": {
            "alpha": config.alpha,
            "distance_threshold": config.distance_threshold,
            "psi_threshold": config.psi_threshold,
            "min_samples": config.min_samples,
            "sample_size": sample_size,
            "mmd_sample_size": config.mmd_sample_size,
            "mmd_permutations": config.mmd_permutations,
            "food_permutations": config.food_permutations,
            "seed": config.seed,
        },
        **analysis.as_dict(),
    }
    report = DriftReport.objects.create(
        baseline_start=baseline_start,
        baseline_end=baseline_end,
        recent_start=recent_start,
        recent_end=recent_end,
        model_version=model_version or "",
        drift_detected=analysis.drift_detected,
        drift_score=analysis.drift_score,
        verdict=analysis.verdict,
        results=_finite_or_none(results),
        scheduled=scheduled,
    )
    return report


def drift_report_metrics(report: DriftReport) -> dict[str, float]:
    """Flat numeric metrics of a report for MLflow: drift_score and every test's statistic / p-value / distance."""
    metrics: dict[str, float] = {"drift_detected": float(report.drift_detected)}
    if report.drift_score is not None:
        metrics["drift_score"] = report.drift_score
    metrics["baseline_predictions"] = float(report.results.get("baseline_predictions", 0))
    metrics["recent_predictions"] = float(report.results.get("recent_predictions", 0))
    for check in report.results.get("checks", []):
        for test in check["tests"]:
            for field in ("statistic", "p_value", "distance"):
                if test[field] is not None:
                    metrics[f"{check['name']}.{test['name']}.{field}"] = float(test[field])
    return metrics


def drift_report_log_to_mlflow(*, report: DriftReport) -> str | None:
    """Log the report as an MLflow run (run_type=drift) and remember its id; None and a failed job record if MLflow is down."""
    try:
        run_id = mlflow_store.drift_run_log(
            report_id=report.pk,
            model_version=report.model_version,
            verdict=report.verdict,
            recent_end=report.recent_end,
            params={
                "baseline_start": report.baseline_start.isoformat(),
                "baseline_end": report.baseline_end.isoformat(),
                "recent_start": report.recent_start.isoformat(),
                "recent_end": report.recent_end.isoformat(),
                "threshold": report.results.get("threshold"),
                "alpha": report.results.get("alpha"),
            },
            metrics=drift_report_metrics(report),
            report=report.results,
        )
    except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
        logger.warning("Drift report %s stored but not logged to MLflow: %s", report.pk, exc)
        job_failure_record(Job.DRIFT_REPORT_MLFLOW, error=str(exc), details={"drift_report_id": report.pk})
        return None
    DriftReport.objects.filter(pk=report.pk).update(mlflow_run_id=run_id)
    report.mlflow_run_id = run_id
    return run_id


def drift_report_scheduled(*, now: datetime | None = None) -> DriftReport:
    """The periodic report: the last NUTRILEARN_DRIFT_RECENT_DAYS against the NUTRILEARN_DRIFT_BASELINE_DAYS before them,
    stored and logged to MLflow (an unreachable MLflow leaves the row without a run id and a failed "drift_report_mlflow" record).

    Recorded as a ``Job.DRIFT_REPORT`` run; an unexpected error marks it failed and is raised again. Also prunes old
    reports (``drift_reports_prune``).
    """
    now = now or timezone.now()
    recent_start = now - timedelta(days=settings.NUTRILEARN_DRIFT_RECENT_DAYS)
    baseline_start = recent_start - timedelta(days=settings.NUTRILEARN_DRIFT_BASELINE_DAYS)
    with job_recorded(Job.DRIFT_REPORT) as record:
        report = drift_report_compute(
            baseline_start=baseline_start, baseline_end=recent_start, recent_start=recent_start, recent_end=now, scheduled=True
        )
        drift_report_log_to_mlflow(report=report)
        record.items = report.results.get("recent_predictions", 0)
        record.details = {
            "drift_report_id": report.pk, "verdict": report.verdict, "mlflow_run_id": report.mlflow_run_id,
            "pruned_reports": drift_reports_prune(now=now),
        }
    return report


def drift_reports_prune(*, now: datetime | None = None) -> int:
    """Delete reports computed on demand (by the API or the pages) older than ``NUTRILEARN_DRIFT_ON_DEMAND_RETENTION_DAYS``
    and scheduled ones older than ``NUTRILEARN_DRIFT_REPORT_RETENTION_DAYS``; returns how many. Idempotent."""
    now = now or timezone.now()
    on_demand = DriftReport.objects.filter(
        scheduled=False, created_at__lt=now - timedelta(days=settings.NUTRILEARN_DRIFT_ON_DEMAND_RETENTION_DAYS)
    )
    scheduled = DriftReport.objects.filter(
        scheduled=True, created_at__lt=now - timedelta(days=settings.NUTRILEARN_DRIFT_REPORT_RETENTION_DAYS)
    )
    return on_demand.delete()[0] + scheduled.delete()[0]
