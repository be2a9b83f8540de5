"""The few registry reads a web worker needs, through an MLflow server's REST API without MLflow's client.

Loading MLflow's client costs a process about 200 MiB (it pulls pandas, pyarrow, scipy, SQLAlchemy,
FastAPI, OpenTelemetry, pydantic). A web worker only resolves an alias, reads a version and downloads
its artefact, so when the tracking URI is an MLflow server (http or https) ``registry`` does these here
with ``requests``: ``GET /api/2.0/mlflow/registered-models/alias``, ``/model-versions/get``,
``/registered-models/get``, and the artifact proxy ``/api/2.0/mlflow-artifacts/artifacts``.

The same as MLflow's client: timeouts and retries (``MLFLOW_HTTP_REQUEST_*``, set by
``client.configure_client_timeouts``; retried on connection errors and 408/429/5xx), credentials
(``MLFLOW_TRACKING_USERNAME`` + ``MLFLOW_TRACKING_PASSWORD``, or ``~/.mlflow/credentials``, basic auth, else
``MLFLOW_TRACKING_TOKEN`` bearer; ``MLFLOW_TRACKING_INSECURE_TLS``, ``MLFLOW_TRACKING_SERVER_CERT_PATH``,
``MLFLOW_TRACKING_CLIENT_CERT_PATH``), error translation (``errors.error_for``). A server that needs
an authentication MLflow's client plugs in (``MLFLOW_TRACKING_AUTH``, ``MLFLOW_TRACKING_AWS_SIGV4``)
is left to MLflow's client: ``serves`` is False there.
"""

from __future__ import annotations

import configparser
import functools
import os
import posixpath
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .client import configure_client_timeouts
from .errors import MlflowUnavailable, error_for

ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
# MLflow's client retries these statuses (mlflow.utils.request_utils).
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_PLUGGED_AUTH = ("MLFLOW_TRACKING_AUTH", "MLFLOW_TRACKING_AWS_SIGV4")
_CHUNK = 1024 * 1024


def serves(tracking_uri: str) -> bool:
    """Whether the reads go through this module: an MLflow server, with no authentication plugin configured."""
    if urlsplit(tracking_uri).scheme not in ("http", "https"):
        return False
    return not any(os.environ.get(name, "").strip().lower() not in ("", "false", "0") for name in _PLUGGED_AUTH)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("true", "1")


@functools.cache
def _session(pid: int, *, retries: int, backoff_factor: float, backoff_jitter: float) -> requests.Session:
    # Per process (``pid``): a pooled connection must not be shared with a forked child.
    retry = Retry(
        total=retries, connect=retries, read=retries, redirect=retries, status=retries,
        status_forcelist=_TRANSIENT_STATUSES, allowed_methods=None, backoff_factor=backoff_factor,
        backoff_jitter=backoff_jitter, raise_on_status=False, respect_retry_after_header=True,
    )  # fmt: skip
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _basic_credentials() -> tuple[str | None, str | None]:
    """Username and password as MLflow's client reads them: the environment, else ``~/.mlflow/credentials``."""
    stored = configparser.ConfigParser()
    stored.read(Path("~/.mlflow/credentials").expanduser())
    section = stored["mlflow"] if stored.has_section("mlflow") else {}
    return (
        os.environ.get("MLFLOW_TRACKING_USERNAME") or section.get("mlflow_tracking_username"),
        os.environ.get("MLFLOW_TRACKING_PASSWORD") or section.get("mlflow_tracking_password"),
    )


def _request(url: str, *, params: dict | None, action: str, stream: bool = False) -> requests.Response:
    """One GET with the client's timeout, retries and credentials; a refusal or failure raised as the named error."""
    configure_client_timeouts()
    session = _session(
        os.getpid(),
        retries=int(os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]),
        backoff_factor=float(os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"]),
        backoff_jitter=float(os.environ["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"]),
    )
    headers, options = {}, {}
    username, password = _basic_credentials()
    if username and password:
        options["auth"] = (username, password)
    elif token := os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = f"Bearer {token}"
    if _env_flag("MLFLOW_TRACKING_INSECURE_TLS"):
        options["verify"] = False
    elif server_cert := os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        options["verify"] = server_cert
    if client_cert := os.environ.get("MLFLOW_TRACKING_CLIENT_CERT_PATH"):
        options["cert"] = client_cert
    try:
        response = session.get(
            url, params=params, headers=headers, timeout=float(os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"]), stream=stream, **options
        )
    except requests.RequestException as exc:
        raise MlflowUnavailable(f"{action}: GET {url}: {exc}"[:2000]) from exc
    if response.ok:
        return response
    raise _refusal(response, action)


def _refusal(response: requests.Response, action: str) -> Exception:
    """The named error for a non-2xx answer: MLflow's ``error_code`` when the body is its JSON error, else the status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error_code"):
        code, message = str(body["error_code"]), str(body.get("message", ""))
    else:
        fallback = {404: "NOT_FOUND", 429: "REQUEST_LIMIT_EXCEEDED"}
        code, message = fallback.get(response.status_code, f"HTTP_{response.status_code}"), response.text[:500]
    return error_for(code=code, http_status=response.status_code, message=message, action=action)


def api_get(tracking_uri: str, endpoint: str, *, params: dict, action: str) -> dict:
    """The JSON answer of ``GET <tracking_uri><endpoint>``, e.g. ``/api/2.0/mlflow/model-versions/get``."""
    response = _request(tracking_uri.rstrip("/") + endpoint, params=params, action=action)
    try:
        return response.json()
    except ValueError as exc:
        raise MlflowUnavailable(f"{action}: the server's answer is not JSON: {response.text[:200]!r}") from exc


def artifacts_download(artifact_uri: str, *, tracking_uri: str, into: Path) -> Path:
    """Download an ``mlflow-artifacts:`` folder through the server's artifact proxy into ``into``; returns its local path."""
    base, root = _artifacts_base(artifact_uri, tracking_uri)
    target = into / posixpath.basename(root.rstrip("/"))
    _artifacts_tree(base, root, target, action=f"download {artifact_uri}")
    return target


def _artifacts_base(artifact_uri: str, tracking_uri: str) -> tuple[str, str]:
    """(URL of the artifact API, path under the artifact root) of ``mlflow-artifacts:[//host:port]/path``.

    As MLflow's client resolves it: the tracking URI's scheme and path prefix, the artefact URI's host when it names one.
    """
    artifact, tracking = urlsplit(artifact_uri), urlsplit(tracking_uri)
    if artifact.scheme != "mlflow-artifacts":
        raise ValueError(f"not an mlflow-artifacts URI: {artifact_uri}")
    base = urlunsplit((tracking.scheme, artifact.netloc or tracking.netloc, tracking.path.rstrip("/") + ARTIFACTS_API, "", ""))
    return base, artifact.path.strip("/")


def _artifacts_tree(base: str, path: str, target: Path, *, action: str) -> None:
    listing = api_get(base, "", params={"path": path}, action=action).get("files", [])
    names = [entry["path"] for entry in listing]
    if any(not name or "/" in name or name in (".", "..") for name in names):
        raise MlflowUnavailable(f"{action}: the server listed unsafe artifact names {names!r}")
    target.mkdir(parents=True, exist_ok=True)
    for entry in listing:
        child = f"{path}/{entry['path']}" if path else entry["path"]
        if entry.get("is_dir"):
            _artifacts_tree(base, child, target / entry["path"], action=action)
        else:
            _artifact_file(base, child, target / entry["path"], action=action)


def _artifact_file(base: str, path: str, target: Path, *, action: str) -> None:
    with _request(f"{base}/{quote(path)}", params=None, action=action, stream=True) as response:
        try:
            with open(target, "wb") as out:
                for chunk in response.iter_content(_CHUNK):
                    out.write(chunk)
        except requests.RequestException as exc:
            raise MlflowUnavailable(f"{action}: {exc}"[:2000]) from exc
