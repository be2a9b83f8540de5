"""The one way tests point the project at a throwaway MLflow store."""

from __future__ import annotations

import contextlib
from pathlib import Path

from mlflow.tracking import MlflowClient

from mlops import mirror, mlflow_store


@contextlib.contextmanager
def mlflow_store_at(settings, uri: str, artifacts: Path):
    """Point the project's MLflow client at ``uri`` for the block; yields a client of that store.

    The cached client, experiment id, the mirror's serving-run ids and its MLflow backoff are forgotten
    on the way in and out, so nothing of another store leaks into the block or out of it.
    """
    settings.MLFLOW_TRACKING_URI = uri
    settings.MLFLOW_ARTIFACT_ROOT = artifacts.as_uri()
    mlflow_store.reset_client()
    mirror.forget_serving_runs()
    mirror.mlflow_breaker.reset()
    try:
        yield MlflowClient(tracking_uri=uri, registry_uri=uri)
    finally:
        mlflow_store.reset_client()
        mirror.forget_serving_runs()
        mirror.mlflow_breaker.reset()
