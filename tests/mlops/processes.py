"""Real outside processes for integration tests and the benchmark: redis-server, a Celery worker, an MLflow server, a web server.

Each runs in its own session (process group), so stopping or SIGKILLing it reaches its
children (Celery's pool, uvicorn workers) and nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.support.network import unused_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REDIS_SERVER = "/usr/bin/redis-server"


def wait_for(
    condition: Callable[[], bool], *, timeout: float, interval: float = 0.05, what: str = "condition", logs: Sequence[Process] = ()
) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds, with the end of the ``logs`` processes' output."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tails = "".join(f"\n--- {process.name} (last lines)\n{process.output()[-4000:]}" for process in logs)
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{tails}")
        time.sleep(interval)


class Process:
    """A child process in its own process group, with its output in a log file."""

    def __init__(self, name: str, command: list[str], *, log: Path, env: dict | None = None):
        self.name = name
        self.command = command
        self.log = log
        self.env = env
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as output:
            self.popen = subprocess.Popen(
                self.command, cwd=PROJECT_ROOT, env=self.env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal(self, signum: int) -> None:
        if self.running:
            os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole process group, no chance to clean up."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to the main process (a warm shutdown), then SIGKILL to whatever is left of the group."""
        if self.running:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


class RedisServer(Process):
    def __init__(self, tmp: Path, port: int | None = None):
        self.port = port or unused_port()
        super().__init__(
            "redis",
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp)],
            log=tmp / f"redis-{self.port}.log",
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        super().start()
        wait_for(self.ping, timeout=10, what="redis-server")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
        except redis.ConnectionError:
            return False


class CeleryWorker(Process):
    """``celery -A nutrilearn worker -Q celery,mlflow -c 1`` (or other ``queues``) with an embedded beat (the sweeper)."""

    def __init__(self, tmp: Path, env: dict, *, name: str = "worker", queues: str = "celery,mlflow"):
        self.ready_marker = "ready."
        self.tmp = tmp
        command = [
            str(BIN / "celery"), "-A", "nutrilearn", "worker", "-Q", queues, "-c", "1",
            "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "INFO",
            "-B", "-s", str(tmp / "celerybeat-schedule"), "-n", f"{name}-{os.getpid()}@%h",
        ]
        super().__init__(name, command, log=tmp / f"{name}.log", env=env)

    def start(self, timeout: float = 60) -> CeleryWorker:
        offset = len(self.output())
        super().start()
        wait_for(lambda: self.ready_marker in self.output()[offset:] or not self.running, timeout=timeout, what="the Celery worker")
        if not self.running:
            raise RuntimeError(f"Celery worker exited:\n{self.output()[offset:][-3000:]}")
        return self


class MlflowServer(Process):
    def __init__(
        self, tmp: Path, *, backend_uri: str, artifacts_uri: str, port: int | None = None, artifacts_destination: Path | None = None
    ):
        """``artifacts_destination``: the folder behind the server's artifact proxy (``artifacts_uri`` ``mlflow-artifacts:/``)."""
        self.port = port or unused_port()
        command = [
            str(BIN / "mlflow"), "server", "--backend-store-uri", backend_uri, "--default-artifact-root", artifacts_uri,
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
        ]
        if artifacts_destination is not None:
            command += ["--artifacts-destination", str(artifacts_destination)]
        # MLflow's job executors are a pool of extra processes the tests never use; they slow the start.
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        super().__init__("mlflow", command, log=tmp / f"mlflow-{self.port}.log", env=env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def start(self, timeout: float = 90) -> MlflowServer:
        super().start()
        wait_for(lambda: self.healthy() or not self.running, timeout=timeout, interval=0.2, what="the MLflow server")
        if not self.running:
            raise RuntimeError(f"MLflow server exited:\n{self.output()[-3000:]}")
        return self


class WebServer(Process):
    """The web process: ``manage.py runserver`` (threaded) or gunicorn with one ``gthread`` worker."""

    KINDS = ("runserver", "gunicorn")

    def __init__(self, tmp: Path, env: dict, *, kind: str, threads: int = 8, port: int | None = None):
        self.port = port or unused_port()
        if kind == "runserver":
            command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"]
        elif kind == "gunicorn":
            command = [
                str(BIN / "gunicorn"), "nutrilearn.wsgi", "--bind", f"127.0.0.1:{self.port}", "--worker-class", "gthread",
                "--workers", "1", "--threads", str(threads), "--timeout", "300",
            ]
        else:
            raise ValueError(f"unknown web server {kind!r}, expected one of {self.KINDS}")
        super().__init__(kind, command, log=tmp / f"{kind}-{self.port}.log", env=env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def listening(self) -> bool:
        """The port accepts connections (no HTTP request is sent, so the app sees none)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def start(self, timeout: float = 180) -> WebServer:
        super().start()
        wait_for(lambda: self.listening() or not self.running, timeout=timeout, interval=0.1, what=f"{self.name} to listen")
        if not self.running:
            raise RuntimeError(f"{self.name} exited:\n{self.output()[-3000:]}")
        return self


def database_url(settings_dict: dict) -> str:
    """The DATABASE_URL of a Django connection's settings (SQLite file or PostgreSQL)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host, port = settings_dict.get("HOST") or "127.0.0.1", settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def worker_environment(*, database: str, broker_url: str, tracking_uri: str, artifacts: Path, var_dir: Path, **extra: str) -> dict:
    """Environment of a worker that uses the given database, broker and MLflow store, with short timeouts."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "NUTRILEARN_", "MLFLOW_", "CELERY_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "nutrilearn.test_settings",
            "DATABASE_URL": database,
            "CELERY_BROKER_URL": broker_url,
            "MLFLOW_TRACKING_URI": tracking_uri,
            "MLFLOW_ARTIFACT_ROOT": artifacts.as_uri(),
            "NUTRILEARN_VAR_DIR": str(var_dir),
            "MLFLOW_HTTP_TIMEOUT_SECONDS": "2",
            "MLFLOW_HTTP_MAX_RETRIES": "0",
            "NUTRILEARN_MIRROR_SWEEP_SECONDS": "1",
            "NUTRILEARN_MIRROR_GRACE_SECONDS": "1",
            "NUTRILEARN_MIRROR_CLAIM_TIMEOUT_SECONDS": "3",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start_worker(tmp_path: Path, broker: RedisServer, tracking_uri: str, *, queues: str = "celery,mlflow", **extra: str) -> CeleryWorker:
    """A Celery worker (with embedded beat) on this test's database, the given Redis and MLflow store; ``extra`` settings by env."""
    from django.db import connection

    env = worker_environment(
        database=database_url(connection.settings_dict),
        broker_url=broker.url,
        tracking_uri=tracking_uri,
        artifacts=tmp_path / "artifacts",
        var_dir=tmp_path / "var",
        **extra,
    )
    return CeleryWorker(tmp_path, env, queues=queues).start()
