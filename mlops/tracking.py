"""The one module that talks to MLflow (tracking and Model Registry) through MlflowClient.

Explicit run ids everywhere; never the fluent ``mlflow.start_run()`` API with its
thread-local active run. Other modules call the functions here.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)


class TrackingUnavailable(Exception):
    """The MLflow store cannot be reached or refused the call."""


def configure_client_timeouts() -> None:
    """Keep MLflow's HTTP calls short: Celery's retry with backoff does the long waiting."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(getattr(settings, "MLFLOW_HTTP_TIMEOUT_SECONDS", 10)))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(getattr(settings, "MLFLOW_HTTP_MAX_RETRIES", 1)))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")


def _ensure_local_store() -> None:
    uri = settings.MLFLOW_TRACKING_URI
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    artifacts = settings.MLFLOW_ARTIFACT_ROOT
    if artifacts.startswith("file://"):
        Path(artifacts.removeprefix("file://")).mkdir(parents=True, exist_ok=True)


@functools.cache
def get_client():
    """The process's MlflowClient for the configured tracking and registry store."""
    from mlflow.tracking import MlflowClient

    configure_client_timeouts()
    _ensure_local_store()
    return MlflowClient(tracking_uri=settings.MLFLOW_TRACKING_URI, registry_uri=settings.MLFLOW_TRACKING_URI)


@functools.cache
def experiment_id() -> str:
    """Id of the project's experiment, created if missing; safe when several processes start at once."""
    return experiment_ensure()


def experiment_ensure() -> str:
    from mlflow.exceptions import MlflowException

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


def reset_client() -> None:
    """Forget the cached client and experiment id (after settings change, in tests)."""
    get_client.cache_clear()
    experiment_id.cache_clear()
