"""MLflow runs of training and evaluation: writing them, comparing two, and a metric's history across runs.

Every call goes through the client of ``mlops.tracking``; failures surface as
``TrackingUnavailable`` (store unwell) or ``TrackingRejected`` (bad request, unknown run).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from .tracking import (
    RUN_TYPE_TAG,
    MetricPoint,
    _named_errors,
    experiment_id,
    get_client,
    metrics_log_batch,
    run_as_dict,
)

# Metrics where a smaller value is the better one when two runs are compared.
LOWER_IS_BETTER = ("loss", "seconds", "latency", "error")


def run_start(*, run_type: str, run_name: str, tags: dict | None = None) -> str:
    """Create a run in the project's experiment with tag ``run_type``; returns its id."""
    with _named_errors(f"create {run_type} run"):
        run = get_client().create_run(
            experiment_id(), run_name=run_name, tags={RUN_TYPE_TAG: run_type, **{k: str(v) for k, v in (tags or {}).items()}}
        )
    return run.info.run_id


def run_log_params(run_id: str, params: dict) -> None:
    client = get_client()
    with _named_errors("log params"):
        for key, value in params.items():
            client.log_param(run_id, key, "" if value is None else str(value)[:6000])


def run_log_metrics(run_id: str, metrics: dict[str, float], *, step: int = 0) -> None:
    """Log finite metrics at one step in batches."""
    now = int(time.time() * 1000)
    points = [MetricPoint(key, float(value), now, step) for key, value in metrics.items() if value is not None and math.isfinite(value)]
    if points:
        metrics_log_batch(run_id=run_id, points=points)


def run_log_dict(run_id: str, data: dict, artifact_file: str) -> None:
    with _named_errors(f"log {artifact_file}"):
        get_client().log_dict(run_id, data, artifact_file)


def run_log_figure(run_id: str, figure, artifact_file: str) -> None:
    with _named_errors(f"log {artifact_file}"):
        get_client().log_figure(run_id, figure, artifact_file)


def run_log_artifacts(run_id: str, directory: Path, artifact_path: str) -> None:
    with _named_errors(f"log artefacts {artifact_path}"):
        get_client().log_artifacts(run_id, str(directory), artifact_path)


def run_set_tags(run_id: str, tags: dict) -> None:
    client = get_client()
    with _named_errors("tag run"):
        for key, value in tags.items():
            client.set_tag(run_id, key, str(value))


def run_finish(run_id: str, *, failed: bool = False) -> None:
    with _named_errors("finish run"):
        get_client().set_terminated(run_id, "FAILED" if failed else "FINISHED")


def _lower_is_better(metric: str) -> bool:
    return any(word in metric for word in LOWER_IS_BETTER)


def compare_models(run_a: str, run_b: str) -> dict:
    """Two runs side by side: every metric both have with the difference (b - a) and which run is better, and the params that differ.

    ``better_run`` is decided by f1_score, then accuracy (None when neither run has them or they tie).
    Raises TrackingRejected for an unknown run id.
    """
    with _named_errors(f"read runs {run_a} and {run_b}"):
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
    with _named_errors(f"search runs with metric {metric_name}"):
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
