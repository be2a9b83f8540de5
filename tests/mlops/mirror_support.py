"""What the mirror tests share: a throwaway MLflow store, the Celery app pointed at a given broker, reading MLflow back."""

from __future__ import annotations

import contextlib
from pathlib import Path

from mlflow.tracking import MlflowClient

from mlops import mirror, tracking


@contextlib.contextmanager
def mlflow_store_at(settings, uri: str, artifacts: Path):
    """Point the project's MLflow wrapper at ``uri`` for the duration of the block."""
    settings.MLFLOW_TRACKING_URI = uri
    settings.MLFLOW_ARTIFACT_ROOT = artifacts.as_uri()
    tracking.reset_client()
    mirror.forget_serving_runs()
    try:
        yield MlflowClient(tracking_uri=uri)
    finally:
        tracking.reset_client()
        mirror.forget_serving_runs()


@contextlib.contextmanager
def celery_broker(url: str):
    """Publish this process's Celery messages to ``url`` (with the project's Redis options) for the duration of the block."""
    from django.conf import settings

    from nutrilearn.celery import app

    previous = app.conf.broker_url
    previous_options = dict(app.conf.broker_transport_options or {})
    _switch_broker(app, url, settings.BROKER_REDIS_TRANSPORT_OPTIONS if url.startswith("redis") else {})
    try:
        yield app
    finally:
        _switch_broker(app, previous, previous_options)


def _switch_broker(app, url: str, options: dict) -> None:
    app.pool.force_close_all()
    app.conf.broker_url = url
    app.conf.broker_transport_options = options
    # Celery caches its connection and producer pools on first use.
    app._pool = None
    app.amqp._producer_pool = None


def metric_steps(client: MlflowClient, run_id: str, key: str) -> list[int]:
    """Every stored point's step of one metric in one run (duplicates kept)."""
    return [metric.step for metric in client.get_metric_history(run_id, key)]
