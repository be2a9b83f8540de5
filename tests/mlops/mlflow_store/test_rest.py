"""The registry's REST reads translate an MLflow server's answers as the MLflow client's errors are translated.

The server here is a small HTTP server on loopback that answers what a test tells it to (the process boundary);
tests/mlops/mlflow_store/test_rest_integration.py checks the same reads against a real MLflow server.
"""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlops.mlflow_store import MlflowNotFound, MlflowRejected, MlflowUnavailable
from mlops.mlflow_store.rest import api_get, serves

ENDPOINT = "/api/2.0/mlflow/model-versions/get"


class CannedServer:
    """Answers every GET with ``status`` and ``body``; keeps each request's path and Authorization header."""

    def __init__(self, status: int, body: bytes | dict, content_type: str = "application/json"):
        self.requests: list[tuple[str, str | None]] = []
        canned = self
        payload = json.dumps(body).encode() if isinstance(body, dict) else body

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                canned.requests.append((self.path, self.headers.get("Authorization")))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    # One retry as configured by default, without the backoff's sleep.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0")
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def answer_of(status: int, body, content_type: str = "application/json"):
    """(what api_get returned or raised, the requests the server saw)."""
    server = CannedServer(status, body, content_type)
    try:
        try:
            outcome = api_get(server.url, ENDPOINT, params={"name": "food-classifier", "version": "3"}, action="read version 3")
        except (MlflowUnavailable, MlflowRejected) as exc:
            outcome = exc
    finally:
        server.close()
    return outcome, server.requests


def test_a_version_is_read_as_the_servers_json():
    answer, seen = answer_of(200, {"model_version": {"name": "food-classifier", "version": "3"}})

    assert answer == {"model_version": {"name": "food-classifier", "version": "3"}}
    assert seen[0][0] == f"{ENDPOINT}?name=food-classifier&version=3"


def test_a_missing_version_is_not_found():
    error, _ = answer_of(
        404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Model Version (name=food-classifier, version=3) not found"}
    )

    assert type(error) is MlflowNotFound
    assert str(error).startswith("read version 3: RESOURCE_DOES_NOT_EXIST: Model Version")


def test_a_404_without_mlflows_error_body_is_not_found():
    error, _ = answer_of(404, b"<html>Not Found</html>", "text/html")

    assert type(error) is MlflowNotFound


def test_a_bad_parameter_is_rejected_and_not_retried():
    error, seen = answer_of(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad version"})

    assert type(error) is MlflowRejected
    assert len(seen) == 1


def test_a_refused_permission_is_rejected():
    error, _ = answer_of(403, b"Forbidden", "text/plain")

    assert type(error) is MlflowRejected


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_or_rate_limit_is_retried_then_unavailable(status):
    error, seen = answer_of(status, {"error_code": "INTERNAL_ERROR" if status != 429 else "REQUEST_LIMIT_EXCEEDED", "message": "busy"})

    assert type(error) is MlflowUnavailable
    assert len(seen) == 2  # the request and its one retry


def test_an_answer_that_is_not_json_is_unavailable():
    error, _ = answer_of(200, b"<html>a proxy's login page</html>", "text/html")

    assert type(error) is MlflowUnavailable


def test_an_unreachable_server_is_unavailable_and_named():
    with pytest.raises(MlflowUnavailable, match=r"read version 3: GET http://127\.0\.0\.1:9/api/2\.0/mlflow/model-versions/get"):
        api_get("http://127.0.0.1:9", ENDPOINT, params={"name": "food-classifier", "version": "3"}, action="read version 3")


def test_username_and_password_go_as_basic_auth(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ops")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret")

    _, seen = answer_of(200, {"model_version": {}})

    assert seen[0][1] == "Basic " + base64.b64encode(b"ops:s3cret").decode()


def test_username_and_password_are_read_from_mlflows_credentials_file_as_the_client_reads_them(monkeypatch, tmp_path):
    (tmp_path / ".mlflow").mkdir()
    (tmp_path / ".mlflow" / "credentials").write_text("[mlflow]\nmlflow_tracking_username = ops\nmlflow_tracking_password = fr0m-file\n")
    monkeypatch.setenv("HOME", str(tmp_path))

    _, seen = answer_of(200, {"model_version": {}})

    assert seen[0][1] == "Basic " + base64.b64encode(b"ops:fr0m-file").decode()


def test_a_token_goes_as_bearer_auth(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "t0ken")

    _, seen = answer_of(200, {"model_version": {}})

    assert seen[0][1] == "Bearer t0ken"


def test_only_an_mlflow_server_without_an_auth_plugin_is_read_over_rest(monkeypatch):
    assert serves("http://mlflow.internal:5000")
    assert serves("https://mlflow.example.com/prefix")
    assert not serves("sqlite:///var/mlflow/mlflow.db")
    assert not serves("/var/mlflow/mlruns")
    monkeypatch.setenv("MLFLOW_TRACKING_AUTH", "my_auth_plugin")
    assert not serves("https://mlflow.example.com")
