"""The production stack on loopback: gunicorn (2 workers), 2 Celery workers, one beat, Redis, an mlflow server on PostgreSQL.

Real photos go in over HTTP; they are recognised, mirrored into MLflow exactly once, visible in the
monitoring API, and a promotion reaches both gunicorn workers without a restart.
"""

from __future__ import annotations

import io
import select
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from tests.mlops.processes import wait_for
from tests.support.stack import ProductionStack, json_request, multipart_photo

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

BODY_TIMEOUT_SECONDS = 3

REGISTER_SECOND_VERSION = (
    "import tempfile; from pathlib import Path; from mlops.mlflow_store import registry; "
    "from predictions.inference import bundled_weights_path, imagenet_manifest\n"
    "with tempfile.TemporaryDirectory() as folder:\n"
    "    registry.artefact_write(Path(folder), manifest=imagenet_manifest(''), weights_file=bundled_weights_path())\n"
    "    print(registry.version_register(artefact_dir=Path(folder), run_name='second version', description='same weights',"
    " tags={'source': 'stack-test'}, aliases=()).version)"
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    extra_env = {"NUTRILEARN_PREDICT_RATE": "100000/minute", "NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_SECONDS)}
    stack = ProductionStack(tmp_path_factory.mktemp("stack"), extra_env=extra_env)
    try:
        stack.start()
    except Exception:
        print(stack.logs())
        stack.stop()
        raise
    yield stack
    stack.stop()


def jpeg(png: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def predict(stack: ProductionStack, photo: bytes, probe: str = "") -> tuple[int, dict]:
    body, content_type = multipart_photo(photo)
    return json_request(f"{stack.url}/api/v1/predict{probe}", data=body, headers={"Content-Type": content_type})


def mirrored_steps(stack: ProductionStack) -> list[int]:
    """Every mirrored latency point's step in every serving run (every prediction has one; twice would show twice)."""
    client = MlflowClient(tracking_uri=stack.mlflow.url)
    experiment = client.get_experiment_by_name("nutrilearn-food-recognition")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.run_type = 'serving'")
    return sorted(metric.step for run in runs for metric in client.get_metric_history(run.info.run_id, "processing_time_seconds"))


def test_real_photos_are_recognised_mirrored_once_and_counted(stack, coffee_png, cat_png):
    answers = [predict(stack, jpeg(coffee_png)) for _ in range(4)] + [predict(stack, jpeg(cat_png)) for _ in range(2)]

    assert [status for status, _ in answers] == [201] * 6, answers
    foods = [body["prediction"]["food"]["key"] if body["prediction"]["food"] else None for _, body in answers]
    assert foods == ["espresso"] * 4 + [None, None]
    ids = sorted(body["prediction"]["id"] for _, body in answers)
    wait_for(lambda: mirrored_steps(stack) == ids, timeout=120, interval=1, what="the six predictions mirrored into MLflow")
    token = stack.staff_token()
    status, monitoring = json_request(f"{stack.url}/api/v1/mlops/monitoring/predictions", headers={"Authorization": f"Token {token}"})
    assert status == 200
    assert monitoring["data"]["total_predictions"] == 6
    time.sleep(3)  # a late duplicate would show up here
    assert mirrored_steps(stack) == ids


def test_a_promotion_reaches_both_gunicorn_workers_without_a_restart(stack, coffee_png):
    photo = jpeg(coffee_png)
    version = stack.manage("shell", "-c", REGISTER_SECOND_VERSION).strip().splitlines()[-1]
    stack.manage("promote", "--version", version, "--reason", "stack test", "--override")
    versions_by_pid: dict[str, str] = {}

    def both_workers_serve_the_new_version() -> bool:
        probes = [f"?probe={uuid.uuid4().hex}" for _ in range(8)]
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda probe: (probe, predict(stack, photo, probe)), probes))
        served_by = stack.served_by()
        for probe, (status, body) in answers:
            assert status == 201, body
            pid = served_by.get(f"POST /api/v1/predict{probe}")
            if pid is not None:
                versions_by_pid[pid] = body["prediction"]["model"]["version"]
        return len(versions_by_pid) == 2 and set(versions_by_pid.values()) == {version}

    wait_for(both_workers_serve_the_new_version, timeout=120, interval=1, what=f"both gunicorn workers serving version {version}")

    assert sorted(versions_by_pid.values()) == [version, version]
    headers = {"Authorization": f"Token {stack.staff_token()}"}

    def both_workers_report_the_new_version() -> bool:
        status, body = json_request(f"{stack.url}/api/v1/mlops/serving-processes", headers=headers)
        assert status == 200, body
        reported = {str(row["pid"]): (row["role"], row["model_version"], row["flag"]) for row in body["processes"]}
        return all(reported.get(pid) == ("web", version, "") for pid in versions_by_pid)

    wait_for(both_workers_report_the_new_version, timeout=30, interval=1, what="both gunicorn workers' heartbeats on the new version")


def trickle_upload(stack: ProductionStack, photo: bytes, *, byte_every: float = 0.25, give_up_after: float = 60) -> tuple[bytes, int, int]:
    """Send an upload's headers and first bytes, then one byte every ``byte_every`` seconds until the server answers or closes.

    Returns (what the server sent, body bytes sent, body length).
    """
    body, content_type = multipart_photo(photo)
    host, port = stack.url.removeprefix("http://").split(":")
    head = (
        f"POST /api/v1/predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    answer = b""
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + body[:200])
        sent = 200
        started = time.monotonic()
        while sent < len(body) and time.monotonic() - started < give_up_after:
            readable, _, _ = select.select([connection], [], [], byte_every)
            if readable:
                break
            try:
                connection.sendall(body[sent : sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent, len(body)


def stored_photos(stack: ProductionStack) -> list[Path]:
    return [path for path in (stack.tmp / "media").rglob("*") if path.is_file()]


def test_clients_trickling_their_uploads_get_408_and_the_next_upload_is_served(stack, coffee_png):
    photo = jpeg(coffee_png)
    photos_before = stored_photos(stack)
    slots = stack.gunicorn_workers * 2  # GUNICORN_THREADS of the stack: every request thread it has

    with ThreadPoolExecutor(slots) as pool:
        trickled = list(pool.map(lambda _: trickle_upload(stack, photo), range(slots)))
    photos_after = stored_photos(stack)
    status, body = predict(stack, photo)

    for answer, sent, length in trickled:
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
        assert b'"request_timeout"' in answer
        assert sent < length  # answered while the body was still on its way
    assert photos_after == photos_before
    assert status == 201, body
