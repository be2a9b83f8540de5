"""MLflow runs: the mirror's serving runs and metric batches, training and evaluation runs,
drift report runs, searching them, comparing two, and a metric's history across runs.

Failures surface as ``MlflowUnavailable`` (store unwell) or ``MlflowRejected`` (bad request,
unknown or deleted run); see ``errors``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from .client import experiment_id, get_client, mlflow_module
from .errors import mlflow_errors

MAX_METRICS_PER_REQUEST = 1000  # MLflow's limit for one log_batch request

@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    timestamp_ms: int
    step: int


def serving_run_create(*, model_name: str, model_version: str, day: date) -> str:
    """Create the MLflow run that holds one model version's predictions of one day; returns its id."""
    with mlflow_errors("create serving run"):
        run = get_client().create_run(
            experiment_id(),
            run_name=f"serving {model_name} v{model_version} {day.isoformat()}",
            tags={RUN_TYPE_TAG: "serving", "model_name": model_name, "model_version": model_version, "serving_day": day.isoformat()},
        )
    return run.info.run_id


def run_delete(run_id: str) -> None:
    """Move a run to MLflow's deleted state (used for a serving run that lost a creation race)."""
    with mlflow_errors("delete run"):
        get_client().delete_run(run_id)


def run_lifecycle_stage(run_id: str) -> str | None:
    """``"active"`` or ``"deleted"``; None when the store has no such run (purged by ``mlflow gc``, or another store)."""
    with mlflow_errors(f"read run {run_id}"):
        try:
            run = get_client().get_run(run_id)
        except mlflow_module().exceptions.MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
    return run.info.lifecycle_stage


def run_restore(run_id: str) -> None:
    """Bring a deleted run back to the active state, with everything it held."""
    with mlflow_errors("restore run"):
        get_client().restore_run(run_id)


def metrics_log_batch(*, run_id: str, points: Sequence[MetricPoint]) -> int:
    """Log metric points in requests of at most 1,000; returns the number of requests made.

    A point equal to a stored one (key, value, timestamp, step) is stored once, so
    sending the same points again is harmless.
    """
    client = get_client()
    Metric = mlflow_module().entities.Metric
    requests_made = 0
    for start in range(0, len(points), MAX_METRICS_PER_REQUEST):
        chunk = [Metric(p.key, p.value, p.timestamp_ms, p.step) for p in points[start : start + MAX_METRICS_PER_REQUEST]]
        with mlflow_errors(f"log_batch of {len(chunk)} metrics to run {run_id}"):
            client.log_batch(run_id, metrics=chunk, synchronous=True)
        requests_made += 1
    return requests_made


# Every run the project writes carries this tag: serving, training, evaluation or drift.
RUN_TYPE_TAG = "run_type"


def runs_search(*, run_type: str | None, limit: int, start=None, end=None, model_version: str | None = None) -> list[dict]:
    """The newest ``limit`` runs of the project's experiment, of one run type (tag ``run_type``) or all.

    ``start``/``end`` bound the run start time, ``model_version`` matches the run's ``model_version`` tag.
    """
    clauses = []
    if run_type:
        clauses.append(f"tags.{RUN_TYPE_TAG} = '{_quoted(run_type)}'")
    if start is not None:
        clauses.append(f"attributes.start_time >= {int(start.timestamp() * 1000)}")
    if end is not None:
        clauses.append(f"attributes.start_time < {int(end.timestamp() * 1000)}")
    if model_version:
        clauses.append(f"tags.model_version = '{_quoted(model_version)}'")
    filter_string = " and ".join(clauses)
    with mlflow_errors("search runs"):
        runs = get_client().search_runs(
            experiment_ids=[experiment_id()], filter_string=filter_string, max_results=limit, order_by=["attributes.start_time DESC"]
        )
    return [run_as_dict(run) for run in runs]


def _quoted(value: str) -> str:
    """A value for a single-quoted MLflow filter string; MLflow's filter grammar has no escape for quotes, so refuse them."""
    if "'" in value or "\\" in value:
        raise ValueError(f"unsupported character in filter value {value!r}")
    return value


def _iso(milliseconds: int | None) -> str | None:
    if milliseconds is None:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC).isoformat()


def run_as_dict(run) -> dict:
    return {
        "run_id": run.info.run_id,
        "experiment_id": run.info.experiment_id,
        "status": run.info.status,
        "start_time": _iso(run.info.start_time),
        "end_time": _iso(run.info.end_time),
        "metrics": dict(run.data.metrics),
        "params": dict(run.data.params),
        "tags": {key: value for key, value in run.data.tags.items() if not key.startswith("mlflow.")},
    }


# Drift reports.


def drift_run_log(
    *, report_id: int, model_version: str, verdict: str, recent_end, params: dict, metrics: dict[str, float], report: dict
) -> str:
    """Log one stored drift report as a finished run (run_type=drift): params, metrics, and the report as drift_report.json."""
    timestamp_ms = int(recent_end.timestamp() * 1000)
    entities = mlflow_module().entities
    with mlflow_errors(f"log drift report {report_id}"):
        client = get_client()
        run = client.create_run(
            experiment_id(),
            run_name=f"drift report {report_id}",
            tags={RUN_TYPE_TAG: "drift", "drift_report_id": str(report_id), "model_version": model_version or "all", "verdict": verdict},
        )
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[entities.Metric(key, float(value), timestamp_ms, 0) for key, value in sorted(metrics.items())],
            params=[entities.Param(key, str(value)) for key, value in sorted(params.items())],
            synchronous=True,
        )
        client.log_dict(run_id, report, "drift_report.json")
        client.set_terminated(run_id, status="FINISHED")
    return run_id


# Training and evaluation runs.

# Metrics where a smaller value is the better one when two runs are compared.
LOWER_IS_BETTER = ("loss", "seconds", "latency", "error")


def run_start(*, run_type: str, run_name: str, tags: dict | None = None) -> str:
    """Create a run in the project's experiment with tag ``run_type``; returns its id."""
    with mlflow_errors(f"create {run_type} run"):
        run = get_client().create_run(
            experiment_id(), run_name=run_name, tags={RUN_TYPE_TAG: run_type, **{k: str(v) for k, v in (tags or {}).items()}}
        )
    return run.info.run_id


def run_log_params(run_id: str, params: dict) -> None:
    client = get_client()
    with mlflow_errors("log params"):
        for key, value in params.items():
            client.log_param(run_id, key, "" if value is None else str(value)[:6000])


def run_log_metrics(run_id: str, metrics: dict[str, float], *, step: int = 0) -> None:
    """Log finite metrics at one step in batches."""
    now = int(time.time() * 1000)
    points = [MetricPoint(key, float(value), now, step) for key, value in metrics.items() if value is not None and math.isfinite(value)]
    if points:
        metrics_log_batch(run_id=run_id, points=points)


def run_log_dict(run_id: str, data: dict, artifact_file: str) -> None:
    with mlflow_errors(f"log {artifact_file}"):
        get_client().log_dict(run_id, data, artifact_file)


def run_log_figure(run_id: str, figure, artifact_file: str) -> None:
    with mlflow_errors(f"log {artifact_file}"):
        get_client().log_figure(run_id, figure, artifact_file)


def run_set_tags(run_id: str, tags: dict) -> None:
    client = get_client()
    with mlflow_errors("tag run"):
        for key, value in tags.items():
            client.set_tag(run_id, key, str(value))


def run_finish(run_id: str, *, failed: bool = False) -> None:
    with mlflow_errors("finish run"):
        get_client().set_terminated(run_id, "FAILED" if failed else "FINISHED")


def _lower_is_better(metric: str) -> bool:
    return any(word in metric for word in LOWER_IS_BETTER)


def compare_models(run_a: str, run_b: str) -> dict:
    """Two runs side by side: every metric both have with the difference (b - a) and which run is better, and the params that differ.

    ``better_run`` is decided by f1_score, then accuracy (None when neither run has them or they tie).
    Raises MlflowNotFound for an unknown run id.
    """
    with mlflow_errors(f"read runs {run_a} and {run_b}"):
        first, second = get_client().get_run(run_a), get_client().get_run(run_b)
    a, b = run_as_dict(first), run_as_dict(second)
    metrics = {}
    for name in sorted(set(a["metrics"]) & set(b["metrics"])):
        value_a, value_b = a["metrics"][name], b["metrics"][name]
        difference = value_b - value_a
        if difference == 0:
            better = "tie"
        elif (difference < 0) == _lower_is_better(name):
            better = "run_b"
        else:
            better = "run_a"
        metrics[name] = {
            "run_a": value_a,
            "run_b": value_b,
            "difference": difference,
            "relative_change_percent": round(100 * difference / abs(value_a), 4) if value_a else None,
            "better": better,
        }
    params_changed = {
        name: {"run_a": a["params"].get(name), "run_b": b["params"].get(name)}
        for name in sorted(set(a["params"]) | set(b["params"]))
        if a["params"].get(name) != b["params"].get(name)
    }
    better_run = None
    for name in ("f1_score", "accuracy"):
        if name in metrics and metrics[name]["better"] != "tie":
            better_run = metrics[name]["better"]
            break
    return {
        "run_a": a,
        "run_b": b,
        "metrics": metrics,
        "only_in_run_a": sorted(set(a["metrics"]) - set(b["metrics"])),
        "only_in_run_b": sorted(set(b["metrics"]) - set(a["metrics"])),
        "params_changed": params_changed,
        "better_run": better_run,
    }


def metric_history_get(*, metric_name: str, limit: int) -> list[dict]:
    """The latest value of ``metric_name`` in each of the newest ``limit`` runs that logged it, oldest first.

    Each point: run_id, run_name, run_type, model_version, timestamp (ISO, the run's start), value.
    Raises ValueError for a metric name MLflow's filter grammar cannot quote.
    """
    if not metric_name or "`" in metric_name:
        raise ValueError(f"unsupported metric name {metric_name!r}")
    with mlflow_errors(f"search runs with metric {metric_name}"):
        runs = get_client().search_runs(
            experiment_ids=[experiment_id()],
            filter_string=f"metrics.`{metric_name}` >= -1e308",
            order_by=["attributes.start_time DESC"],
            max_results=limit,
        )
    points = []
    for run in reversed(runs):
        shaped = run_as_dict(run)
        points.append(
            {
                "run_id": shaped["run_id"],
                "run_name": run.info.run_name,
                "run_type": shaped["tags"].get(RUN_TYPE_TAG, ""),
                "model_version": shaped["tags"].get("model_version", ""),
                "timestamp": shaped["start_time"],
                "value": shaped["metrics"][metric_name],
            }
        )
    return points
