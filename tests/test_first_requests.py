"""A fresh web process whose first requests arrive together answers every one of them, and keeps working.

Uploads load the champion from the registry (MLflow) while MLOps endpoints call MLflow too,
in threads of a process that has just started: runserver (threaded) and gunicorn (gthread).
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.authtoken.models import Token

from mlops.services import bundled_model_register
from tests.mlops.processes import WebServer, database_url

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

UPLOAD = "POST /api/v1/predict"
# Uploads (which load the champion from the registry) interleaved with MLOps endpoints that call MLflow.
FIRST_REQUESTS = (
    UPLOAD,
    "GET /api/v1/mlops/experiments",
    UPLOAD,
    "GET /api/v1/mlops/model-versions",
    UPLOAD,
    "GET /api/v1/mlops/runs?run_type=training",
    "GET /api/v1/mlops/monitoring/health",
    "GET /api/v1/mlops/monitoring/drift",
)
# Each request leaves this long after the previous one, all within two seconds: real first
# traffic is spread like this, and so some requests reach the app while another thread is half-way
# through its first import of MLflow (requests sent in the same millisecond queue behind each other).
SPACING_SECONDS = 0.3


def web_environment(tmp_path, mlflow_store_uri: str, *, debug: bool) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "NUTRILEARN_", "MLFLOW_", "CELERY_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "nutrilearn.settings",
            "DJANGO_DEBUG": "1" if debug else "0",
            "DJANGO_SECRET_KEY": "first-requests-test-secret-0123456789abcdefghijklmnopqrstuvwxyz",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            # Plain HTTP on loopback: no TLS proxy in front (production settings would redirect to https).
            "DJANGO_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DATABASE_URL": database_url(connection.settings_dict),
            "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
            "NUTRILEARN_VAR_DIR": str(tmp_path / "var"),
            "NUTRILEARN_MODEL_SOURCE": "registry",
            "NUTRILEARN_MODEL_POLL_SECONDS": "1",  # the alias watcher polls beside the requests
            "NUTRILEARN_MODEL_CACHE_DIR": str(tmp_path / "model-cache"),
            "NUTRILEARN_TORCH_THREADS": "1",
            "MLFLOW_TRACKING_URI": mlflow_store_uri,
            "MLFLOW_ARTIFACT_ROOT": (tmp_path / "artifacts").as_uri(),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture
def staff_token(transactional_db) -> str:
    user = get_user_model().objects.create_user("ops", is_staff=True)
    return Token.objects.create(user=user).key


@pytest.fixture
def champion(transactional_db, mlflow_client, catalogue):
    """The bundled model registered as version 1 with alias champion, in the store the server will use."""
    ref, _ = bundled_model_register()
    return ref


@pytest.fixture(params=WebServer.KINDS)
def fresh_server(request, transactional_db, tmp_path, settings, champion):
    kind = request.param
    env = web_environment(tmp_path, settings.MLFLOW_TRACKING_URI, debug=kind == "runserver")
    server = WebServer(tmp_path, env, kind=kind).start()
    yield server
    server.stop()


def send_first_requests(server: WebServer, token: str, image: bytes) -> list[tuple[str, int, dict | str]]:
    """Send FIRST_REQUESTS from their own threads, SPACING_SECONDS apart; (request, status, body) of each."""
    results: list = [None] * len(FIRST_REQUESTS)

    def call(index: int, request: str) -> None:
        time.sleep(index * SPACING_SECONDS)
        method, path = request.split(" ", 1)
        try:
            if method == "POST":
                response = requests.post(f"{server.url}{path}", files={"image": ("meal.png", image, "image/png")}, timeout=600)
            else:
                response = requests.get(f"{server.url}{path}", headers={"Authorization": f"Token {token}"}, timeout=600)
        except requests.RequestException as exc:
            results[index] = (request, 599, f"no answer: {exc}")
            return
        try:
            body = response.json()
        except ValueError:
            body = response.text[:500]
        results[index] = (request, response.status_code, body)

    threads = [threading.Thread(target=call, args=(index, request)) for index, request in enumerate(FIRST_REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def first_traceback(log: str) -> str:
    start = log.find("Traceback")
    return log[start : start + 4000] if start >= 0 else log[-4000:]


def test_first_requests_arriving_together_are_all_answered_and_the_process_keeps_working(fresh_server, staff_token, coffee_png):
    first = send_first_requests(fresh_server, staff_token, coffee_png)
    later = send_first_requests(fresh_server, staff_token, coffee_png)

    log = first_traceback(fresh_server.output())
    assert [(request, status) for request, status, _ in first if status >= 300] == [], log
    assert [(request, status) for request, status, _ in later if status >= 300] == [], log
    uploads = [body for request, _, body in first + later if request == UPLOAD]
    assert {upload["prediction"]["model"]["version"] for upload in uploads} == {"1"}  # the champion from the registry
