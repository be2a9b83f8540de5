"""The production stack on loopback, for the stack test and the load benchmark.

gunicorn (gunicorn.conf.py, 2 workers), 2 Celery workers, exactly one beat, Redis, an `mlflow server`
whose backend store is PostgreSQL and whose artefacts are on a shared folder, and the app on a
PostgreSQL database made for the run; every process is started the way the README's production
command starts it, with production settings (DJANGO_DEBUG=0) but plain HTTP on loopback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg

from tests.mlops.processes import BIN, PROJECT_ROOT, MlflowServer, Process, RedisServer, wait_for
from tests.support.network import unused_port

# The PostgreSQL server the stack makes its databases on (trust or password in the URL).
SERVER_URL = os.environ.get("NUTRILEARN_STACK_PG_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres")


def _server_url_for(database: str) -> str:
    return re.sub(r"/[^/]*$", f"/{database}", SERVER_URL)


class Database:
    """A PostgreSQL database created for one run and dropped afterwards."""

    def __init__(self, prefix: str):
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.url = _server_url_for(self.name)

    def create(self) -> Database:
        with psycopg.connect(SERVER_URL, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        with psycopg.connect(SERVER_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class ProductionStack:
    """Start with ``start()``, stop with ``stop()``; ``url`` is gunicorn's, ``env`` every process's environment."""

    def __init__(self, tmp: Path, *, gunicorn_workers: int = 2, celery_workers: int = 2, extra_env: dict | None = None):
        self.tmp = tmp
        self.gunicorn_workers = gunicorn_workers
        self.celery_workers = celery_workers
        self.extra_env = extra_env or {}
        self.web_port = unused_port()
        self.app_db = Database("nl_stack_app")
        self.mlflow_db = Database("nl_stack_mlflow")
        self.redis = RedisServer(tmp)
        self.mlflow: MlflowServer | None = None
        self.processes: list[Process] = []
        self.env: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _environment(self) -> dict[str, str]:
        keep = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "NUTRILEARN_", "MLFLOW_", "CELERY_"))}
        keep.pop("DATABASE_URL", None)
        keep.pop("REDIS_URL", None)
        return {
            **keep,
            "DJANGO_SETTINGS_MODULE": "nutrilearn.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "stack-test-secret-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Plain HTTP on loopback: no TLS proxy in front.
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DATABASE_URL": self.app_db.url,
            "REDIS_URL": self.redis.url,
            "MLFLOW_TRACKING_URI": self.mlflow.url,
            "MLFLOW_ARTIFACT_ROOT": (self.tmp / "artifacts").as_uri(),
            "NUTRILEARN_VAR_DIR": str(self.tmp / "var"),
            "DJANGO_MEDIA_ROOT": str(self.tmp / "media"),
            "NUTRILEARN_MODEL_POLL_SECONDS": "2",
            "NUTRILEARN_TORCH_THREADS": "1",
            "GUNICORN_BIND": f"127.0.0.1:{self.web_port}",
            "GUNICORN_WORKERS": str(self.gunicorn_workers),
            "GUNICORN_THREADS": "2",
            "NUTRILEARN_ADMIN_PASSWORD": "stack-admin-password-123",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def manage(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self) -> ProductionStack:
        self.app_db.create()
        self.mlflow_db.create()
        self.redis.start()
        self.mlflow = MlflowServer(self.tmp, backend_uri=self.mlflow_db.url.replace("postgres://", "postgresql://", 1),
                                   artifacts_uri=(self.tmp / "artifacts").as_uri()).start(timeout=180)
        self.env = self._environment()
        self.manage("migrate", "--noinput")
        self.manage("bootstrap")
        self.manage("ensure_admin_user")
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        gunicorn = Process("gunicorn", [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "nutrilearn.wsgi",
                                        "--access-logformat", "%(p)s %(r)s %(s)s"],
                           log=self.tmp / "gunicorn.log", env=self.env)
        self.processes.append(gunicorn.start())
        for index in range(self.celery_workers):
            worker = Process(f"worker{index}", [str(BIN / "celery"), "-A", "nutrilearn", "worker", "-Q", "celery,mlflow", "-c", "1",
                                               "-n", f"stack{index}-{os.getpid()}@%h", "--loglevel", "INFO"],
                             log=self.tmp / f"worker{index}.log", env=self.env)
            self.processes.append(worker.start())
        beat = Process("beat", [str(BIN / "celery"), "-A", "nutrilearn", "beat", "-s", str(self.tmp / "beat-schedule"),
                                "--loglevel", "INFO"], log=self.tmp / "beat.log", env=self.env)
        self.processes.append(beat.start())
        wait_for(self.ready, timeout=180, interval=0.5, what="gunicorn answering /readyz")
        return self

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def staff_token(self) -> str:
        """A DRF token of the bootstrap admin (created by ``ensure_admin_user``)."""
        output = self.manage("drf_create_token", "admin")
        return re.search(r"token (\w+)", output).group(1)

    def served_by(self) -> dict[str, str]:
        """Which gunicorn worker pid answered each request: request line -> pid, from the access log."""
        answered = {}
        for line in (self.tmp / "gunicorn.log").read_text(errors="replace").splitlines():
            match = re.match(r"^<?(\d+)>? (\S+ \S+) \S+ (\d{3})$", line)
            if match:
                answered[match.group(2)] = match.group(1)
        return answered

    def logs(self) -> str:
        return "\n".join(f"--- {process.name}\n{process.output()[-3000:]}" for process in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.mlflow is not None:
            self.mlflow.stop()
        self.redis.stop()
        for database in (self.app_db, self.mlflow_db):
            database.drop()


def json_request(url: str, *, data: bytes | None = None, headers: dict | None = None, method: str | None = None, timeout: float = 30):
    """(status, parsed JSON body) of one request; error statuses are returned, not raised."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if body.startswith(b"{") else body.decode(errors="replace")


def multipart_photo(data: bytes, *, field: str = "image", name: str = "meal.jpg") -> tuple[bytes, str]:
    """A multipart/form-data body holding one photo; returns (body, content type)."""
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"

