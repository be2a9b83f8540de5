"""The one module that talks to MLflow (tracking and Model Registry) through MlflowClient.

Explicit run ids everywhere; never the fluent ``mlflow.start_run()`` API with its
thread-local active run. Other modules call the functions here.

MLflow is imported here, at module level, and this module is imported by the app's
``ready()``: MLflow's package does not survive two threads importing it for the first time
at once (one of them sees a partially initialised ``mlflow.tracking``, and every later
import in the process fails), so it must never be imported lazily from request or
watcher threads.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import requests
import sqlalchemy.exc
from django.conf import settings
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)


class TrackingUnavailable(Exception):
    """The MLflow store cannot be reached or refused the call."""


class TrackingRejected(Exception):
    """MLflow answered but refused the request itself (invalid data, deleted run): sending it again will not help."""


def configure_client_timeouts() -> None:
    """Keep MLflow's HTTP calls short: Celery's retry with backoff does the long waiting."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(getattr(settings, "MLFLOW_HTTP_TIMEOUT_SECONDS", 10)))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(getattr(settings, "MLFLOW_HTTP_MAX_RETRIES", 1)))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0.5")


def _ensure_local_store() -> None:
    uri = settings.MLFLOW_TRACKING_URI
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    artifacts = settings.MLFLOW_ARTIFACT_ROOT
    if artifacts.startswith("file://"):
        Path(artifacts.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


# The client and the experiment id are made once per process, even when the first
# requests ask for them at the same moment (a store opened twice at once can trip over
# its own table creation).
_first_use = threading.RLock()


def get_client() -> MlflowClient:
    """The process's MlflowClient for the configured tracking and registry store."""
    with _first_use:
        return _client()


@functools.cache
def _client() -> MlflowClient:
    configure_client_timeouts()
    _ensure_local_store()
    return MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI, registry_uri=settings.MLFLOW_TRACKING_URI)


def experiment_id() -> str:
    """Id of the project's experiment, created if missing; safe when several processes start at once."""
    with _first_use:
        return _experiment_id()


@functools.cache
def _experiment_id() -> str:
    return experiment_ensure()


def experiment_ensure() -> str:
    client = get_client()
    name = settings.MLFLOW_EXPERIMENT_NAME
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name, artifact_location=settings.MLFLOW_ARTIFACT_ROOT)
    except MlflowException:
        # Another process created it between our read and our write.
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def run_ui_url(run_id: str) -> str | None:
    """The run's page in the MLflow UI at ``NUTRILEARN_MLFLOW_UI_URL``; None without a run id, a UI address or a reachable store."""
    base = settings.NUTRILEARN_MLFLOW_UI_URL.rstrip("/")
    if not run_id or not base:
        return None
    try:
        with _named_errors("read the experiment"):
            experiment = experiment_id()
    except (TrackingUnavailable, TrackingRejected):
        return None
    return f"{base}/#/experiments/{experiment}/runs/{run_id}"


def reset_client() -> None:
    """Forget the cached client and experiment id (after settings change, in tests)."""
    with _first_use:
        _client.cache_clear()
        _experiment_id.cache_clear()


# Serving runs and metric batches (the prediction mirror).

MAX_METRICS_PER_REQUEST = 1000  # MLflow's limit for one log_batch request

# Error codes meaning "the request is wrong", as opposed to "the store is unwell".
_REJECTION_CODES = frozenset(
    {"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "MALFORMED_REQUEST", "INVALID_STATE", "RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS"}
)


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float
    timestamp_ms: int
    step: int


@contextmanager
def _named_errors(action: str):
    """Translate MLflow, HTTP and store errors into TrackingRejected / TrackingUnavailable."""
    try:
        yield
    except MlflowException as exc:
        error = TrackingRejected if exc.error_code in _REJECTION_CODES else TrackingUnavailable
        raise error(f"{action}: {exc.error_code}: {exc.message}"[:2000]) from exc
    except (requests.RequestException, sqlalchemy.exc.OperationalError, OSError) as exc:
        raise TrackingUnavailable(f"{action}: {exc}"[:2000]) from exc


def serving_run_create(*, model_name: str, model_version: str, day: date) -> str:
    """Create the MLflow run that holds one model version's predictions of one day; returns its id."""
    with _named_errors("create serving run"):
        run = get_client().create_run(
            experiment_id(),
            run_name=f"serving {model_name} v{model_version} {day.isoformat()}",
            tags={RUN_TYPE_TAG: "serving", "model_name": model_name, "model_version": model_version, "serving_day": day.isoformat()},
        )
    return run.info.run_id


def run_delete(run_id: str) -> None:
    """Move a run to MLflow's deleted state (used for a serving run that lost a creation race)."""
    with _named_errors("delete run"):
        get_client().delete_run(run_id)


def run_lifecycle_stage(run_id: str) -> str | None:
    """``"active"`` or ``"deleted"``; None when the store has no such run (purged by ``mlflow gc``, or another store)."""
    with _named_errors(f"read run {run_id}"):
        try:
            run = get_client().get_run(run_id)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
    return run.info.lifecycle_stage


def run_restore(run_id: str) -> None:
    """Bring a deleted run back to the active state, with everything it held."""
    with _named_errors("restore run"):
        get_client().restore_run(run_id)


def metrics_log_batch(*, run_id: str, points: Sequence[MetricPoint]) -> int:
    """Log metric points in requests of at most 1,000; returns the number of requests made.

    A point equal to a stored one (key, value, timestamp, step) is stored once, so
    sending the same points again is harmless.
    """
    client = get_client()
    requests_made = 0
    for start in range(0, len(points), MAX_METRICS_PER_REQUEST):
        chunk = [Metric(p.key, p.value, p.timestamp_ms, p.step) for p in points[start : start + MAX_METRICS_PER_REQUEST]]
        with _named_errors(f"log_batch of {len(chunk)} metrics to run {run_id}"):
            client.log_batch(run_id, metrics=chunk, synchronous=True)
        requests_made += 1
    return requests_made


# Every run the project writes carries this tag: serving, training, evaluation or drift.
RUN_TYPE_TAG = "run_type"
RUN_TYPES = ("serving", "training", "evaluation", "drift")


def ping() -> None:
    """Raise TrackingUnavailable unless the tracking store answers a cheap query."""
    with _named_errors("ping the tracking store"):
        get_client().search_experiments(max_results=1)


def experiments_list() -> list[dict]:
    """Active experiments of the tracking store, as plain dicts."""
    with _named_errors("list experiments"):
        experiments = get_client().search_experiments(max_results=1000)
    return [
        {
            "experiment_id": experiment.experiment_id,
            "name": experiment.name,
            "artifact_location": experiment.artifact_location,
            "lifecycle_stage": experiment.lifecycle_stage,
            "tags": dict(experiment.tags),
        }
        for experiment in experiments
    ]


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
    with _named_errors("search runs"):
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
    with _named_errors(f"log drift report {report_id}"):
        client = get_client()
        run = client.create_run(
            experiment_id(),
            run_name=f"drift report {report_id}",
            tags={RUN_TYPE_TAG: "drift", "drift_report_id": str(report_id), "model_version": model_version or "all", "verdict": verdict},
        )
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(key, float(value), timestamp_ms, 0) for key, value in sorted(metrics.items())],
            params=[Param(key, str(value)) for key, value in sorted(params.items())],
            synchronous=True,
        )
        client.log_dict(run_id, report, "drift_report.json")
        client.set_terminated(run_id, status="FINISHED")
    return run_id
