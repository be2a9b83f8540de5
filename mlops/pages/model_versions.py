"""The Models page: registered versions, their evaluations side by side, per-class figures, calibration and model events.

The registry is read through ``mlops.mlflow_store.registry`` (one call for the versions, one for the
aliases); two evaluation runs are compared with ``mlops.mlflow_store.compare_models``. Everything
else comes from the database. An unreachable MLflow store leaves the database figures
in place and says what is missing.
"""

from __future__ import annotations

from .. import charts, mlflow_store, rollups, selectors
from ..mlflow_store import MlflowRejected, MlflowUnavailable
from ..mlflow_store.registry import aliases_get, versions_list
from ..models import Evaluation, ModelEvent
from .experiments import experiment_panel
from .figures import figure_slot
from .filters import FilterInvalid, PageFilters

METRICS = ("accuracy", "precision", "recall", "f1_score")


def registry_read() -> tuple[list, dict, str]:
    """(versions, aliases, error): the registry's versions and aliases, or empty ones and the reason it could not be read."""
    try:
        return versions_list(), aliases_get(), ""
    except MlflowUnavailable as exc:
        return [], {}, f"The model registry cannot be read right now ({exc}); the figures below come from the database."
    except MlflowRejected as exc:
        return [], {}, f"The model registry refused the request ({exc}); the figures below come from the database."


def training_summary(version: dict, training: Evaluation | None) -> str:
    """What the version was trained on, from its registry tags and its training evaluation."""
    tags = version.get("tags") or {}
    dataset = tags.get("dataset") or (training.details.get("dataset") if training else "")
    if not dataset:
        return "ImageNet-1k (the bundled EfficientNet-Lite0)" if tags.get("architecture") and not tags.get("source") else "—"
    parts = [dataset]
    if training is not None:
        classes = len(training.details.get("labels", []))
        parts.append(f"{classes} classes" if classes else "")
        parts.append(f"tested on {training.sample_count:,} photos" if training.sample_count else "")
    return ", ".join(part for part in parts if part)


def _compare_pair(compare: str | None, evaluated: list[str]) -> tuple[str, str] | None:
    if compare:
        pair = [part.strip() for part in compare.split(",")]
        if len(pair) != 2 or not all(pair):
            raise FilterInvalid("compare takes two model versions separated by a comma, such as compare=1,2.")
        return pair[0], pair[1]
    return (evaluated[-2], evaluated[-1]) if len(evaluated) >= 2 else None


def comparison(pair: tuple[str, str] | None) -> dict | None:
    """The latest evaluation runs of two versions compared by ``compare_models``; the reason when that cannot be done."""
    if pair is None:
        return None
    runs_of = {}
    for version in pair:
        evaluation = Evaluation.objects.filter(model_version=version).exclude(mlflow_run_id="").order_by("-created_at", "-id").first()
        if evaluation is None:
            return {"pair": pair, "error": f"Version {version} has no evaluation run to compare."}
        runs_of[version] = evaluation
    try:
        result = mlflow_store.compare_models(runs_of[pair[0]].mlflow_run_id, runs_of[pair[1]].mlflow_run_id)
    except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
        return {"pair": pair, "error": f"The evaluation runs cannot be read from MLflow: {exc}"}
    rows = [{"name": name, **values} for name, values in result["metrics"].items() if name in METRICS]
    better = {"run_a": f"version {pair[0]}", "run_b": f"version {pair[1]}"}.get(result["better_run"] or "", "neither")
    return {"pair": pair, "rows": rows, "better": better, "params_changed": result["params_changed"], "error": ""}


def per_class(version: str | None) -> dict | None:
    """Per-class figures and the confusion matrix of a version's latest evaluation that has them."""
    if not version:
        return None
    evaluation = Evaluation.objects.filter(model_version=version, details__has_key="per_class").order_by("-created_at", "-id").first()
    if evaluation is None:
        return {"version": version, "evaluation": None}
    matrix = evaluation.details.get("confusion_matrix") or {}
    labels = evaluation.details.get("labels") or list(evaluation.details["per_class"])
    rows = matrix.get("rows") or []
    columns = matrix.get("labels") or labels
    if rows and all(not row[-1] for row in rows) and len(columns) == len(labels) + 1:
        columns, rows = columns[:-1], [row[:-1] for row in rows]
    classes = sorted(evaluation.details["per_class"].items(), key=lambda item: (item[1]["f1_score"], item[0]))
    return {
        "version": version,
        "evaluation": evaluation,
        "classes": [{"label": label, **metrics} for label, metrics in classes],
        "matrix": figure_slot("confusion", charts.confusion_matrix(labels, columns, rows), "This evaluation stored no confusion matrix."),
    }


def models_context(filters: PageFilters, *, version: str | None, compare: str | None) -> dict:
    registered, aliases, registry_error = registry_read()
    versions = selectors.model_versions_with_evaluations(
        registered=registered, aliases=aliases, start=None, end=None, model_version=filters.model_version
    )
    training = {
        evaluation.model_version: evaluation
        for evaluation in Evaluation.objects.filter(source=Evaluation.Source.TRAINING).order_by("created_at", "id")
    }
    for entry in versions:
        entry["training"] = training_summary(entry, training.get(entry["model_version"]))
    evaluated = [entry["model_version"] for entry in versions if entry["evaluation"]]
    selected = version or filters.model_version or aliases.get("champion") or (evaluated[-1] if evaluated else None)
    performance = selectors.performance_report(**filters.window())
    calibration = performance["calibration"]
    calibrated = next((entry for entry in calibration if entry["model_version"] == selected), None)
    by_day = {row["date"]: row for row in performance["feedback"]["per_day"]}
    confidence_by_day = rollups.ok_stats_by("day", **filters.window())
    accuracy_points = [
        {
            "day": day,
            "measured": by_day[day]["accuracy"] if day in by_day else None,
            "labels": by_day[day]["sample_count"] if day in by_day else 0,
            "estimated": stats["confidence_sum"] / stats["confidence_count"] if stats["confidence_count"] else None,
        }
        for day, stats in sorted(confidence_by_day.items())
    ]
    return {
        "versions": versions,
        "aliases": aliases,
        "registry_error": registry_error,
        "selected": selected,
        "comparison": comparison(_compare_pair(compare, evaluated)),
        "per_class": per_class(selected),
        "calibration": calibration,
        "trend": performance["trend"],
        "charts": [
            figure_slot(
                "evaluations",
                charts.evaluation_comparison([{"model_version": e["model_version"], **e["metrics"]} for e in versions]),
                "No evaluations yet: run `manage.py evaluate --version N --dataset DIR` (or --feedback) to score a version.",
            ),
            figure_slot("evaluation-history", charts.accuracy_history(performance["history"]), "No evaluations in this window."),
            figure_slot(
                "reliability",
                charts.reliability_diagram(calibrated["reliability"], title=f"Reliability of v{selected} (from feedback)")
                if calibrated
                else None,
                "No feedback yet: calibration appears once users answer 'Was this right?'.",
            ),
            figure_slot(
                "accuracy-over-time", charts.accuracy_over_time(accuracy_points), "No predictions in this window: no accuracy to estimate."
            ),
        ],
        "ab_test": experiment_panel(),
        "events": list(ModelEvent.objects.filter(created_at__gte=filters.start, created_at__lt=filters.end).order_by("-created_at")[:20]),
    }
