"""What the mirror tests share: a throwaway MLflow store, the Celery app pointed at a given broker, reading MLflow back."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

import kombu.pools
from mlflow.tracking import MlflowClient

from mlops import mirror


@contextlib.contextmanager
def celery_broker(url: str, options: dict | None = None):
    """Publish this process's Celery messages to ``url`` for the duration of the block.

    Transport options default to the project's Redis options for a Redis URL.
    """
    from django.conf import settings

    from nutrilearn.celery import app

    previous = app.conf.broker_url
    previous_options = dict(app.conf.broker_transport_options or {})
    if options is None:
        options = settings.BROKER_REDIS_TRANSPORT_OPTIONS if url.startswith("redis") else {}
    _switch_broker(app, url, options)
    try:
        yield app
    finally:
        _switch_broker(app, previous, previous_options)


def filesystem_broker_options(var_dir: Path) -> dict:
    """The embedded broker's transport options for a worker whose NUTRILEARN_VAR_DIR is ``var_dir`` (as settings build them)."""
    folder = var_dir / "broker"
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


def _switch_broker(app, url: str, options: dict) -> None:
    app.pool.force_close_all()
    # The app reads its configuration from Django settings under the CELERY namespace, and there a key set by
    # its plain name (broker_url) does not override the namespaced one: set the names the settings use.
    app.conf.CELERY_BROKER_URL = url
    app.conf.CELERY_BROKER_TRANSPORT_OPTIONS = options
    # Celery caches its connection and producer pools on first use, and kombu keeps producer
    # pools per broker URL process-wide: a closed one would be handed out again for the same URL.
    app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()
    # A new broker deserves a publish attempt, whatever the previous one did.
    mirror.enqueue_breaker.reset()


class TcpServer:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (a partitioned host), or hangs up at once.

    Counts the connections it accepted: one per attempt to publish.
    """

    def __init__(self, *, hang_up: bool = False):
        self.hang_up = hang_up
        self.connections = 0
        self._open: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            if self.hang_up:
                connection.close()
            else:
                self._open.append(connection)

    def __enter__(self) -> TcpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        for connection in [*self._open, self._listener]:
            connection.close()


def metric_steps(client: MlflowClient, run_id: str, key: str) -> list[int]:
    """Every stored point's step of one metric in one run (duplicates kept)."""
    return [metric.step for metric in client.get_metric_history(run_id, key)]
