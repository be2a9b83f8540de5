"""The process's MlflowClient, the project's experiment, and the one import of MLflow.

Explicit run ids everywhere; never the fluent ``mlflow.start_run()`` API with its
thread-local active run.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from django.conf import settings

from .errors import MlflowRejected, MlflowUnavailable, mlflow_errors

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

# MLflow's package does not survive two threads importing it for the first time at once (one sees a
# partially initialised ``mlflow.tracking`` and every later import in the process fails), and a web
# worker imports it from request or watcher threads: every module of this package reaches MLflow
# through ``mlflow_module`` only.
_import_lock = threading.Lock()
_mlflow: ModuleType | None = None


def mlflow_module() -> ModuleType:
    """The ``mlflow`` package with the submodules this package uses, imported once per process under a lock.

    About 200 MiB of a process's memory: a web worker that serves predictions from an MLflow
    server never calls this (``registry`` talks REST there); ops pages, the mirror and training do.
    """
    global _mlflow
    if _mlflow is None:
        with _import_lock:
            if _mlflow is None:
                import mlflow
                import mlflow.artifacts
                import mlflow.entities
                import mlflow.exceptions
                import mlflow.tracking

                _mlflow = mlflow
    return _mlflow


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
    mlflow = mlflow_module()
    return mlflow.tracking.MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI, registry_uri=settings.MLFLOW_TRACKING_URI)


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
    except mlflow_module().exceptions.MlflowException:
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
        with mlflow_errors("read the experiment"):
            experiment = experiment_id()
    except (MlflowUnavailable, MlflowRejected):
        return None
    return f"{base}/#/experiments/{experiment}/runs/{run_id}"


def reset_client() -> None:
    """Forget the cached client and experiment id (after settings change, in tests)."""
    with _first_use:
        _client.cache_clear()
        _experiment_id.cache_clear()


def ping() -> None:
    """Raise MlflowUnavailable unless the tracking store answers a cheap query."""
    with mlflow_errors("ping the tracking store"):
        get_client().search_experiments(max_results=1)


def experiments_list() -> list[dict]:
    """Active experiments of the tracking store, as plain dicts."""
    with mlflow_errors("list experiments"):
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
