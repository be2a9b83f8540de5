"""Mirroring end to end: real uploads, a real Redis, a real Celery worker process (not eager), a real MLflow store.

Each test starts its own redis-server on a free port and its own worker (with the
sweeper as embedded beat, every second; fixtures in conftest.py), so it can stop, kill and restart them.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from types import SimpleNamespace

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from mlflow.tracking import MlflowClient

from mlops import mirror
from mlops.jobs import Job
from mlops.models import JobRun, ServingRun
from nutrilearn.celery import broker_folders_ensure
from predictions.models import Prediction
from tests.mlops.factories import predictions_make
from tests.mlops.mirror_support import celery_broker, filesystem_broker_options, metric_steps
from tests.mlops.processes import MlflowServer, start_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def upload(client, image: bytes) -> float:
    started = time.perf_counter()
    response = client.post("/api/v1/predict", {"image": SimpleUploadedFile("meal.png", image, content_type="image/png")})
    assert response.status_code == 201, response.content
    return time.perf_counter() - started


def all_mirrored() -> bool:
    return not Prediction.objects.filter(status="ok", mirrored_at__isnull=True).exists()


def steps_in_mlflow(tracking_uri: str) -> list[int]:
    """Every stored confidence point's step over all serving runs (a prediction twice would appear twice)."""
    client = MlflowClient(tracking_uri=tracking_uri)
    run_ids = ServingRun.objects.values_list("run_id", flat=True)
    return sorted(step for run_id in run_ids for step in metric_steps(client, run_id, "confidence"))


def ok_ids() -> list[int]:
    return sorted(Prediction.objects.filter(status="ok").values_list("id", flat=True))


def test_every_upload_reaches_mlflow_exactly_once(
    transactional_db, tmp_path, broker, mlflow_sqlite_uri, workers, client, catalogue, coffee_png
):
    workers.append(start_worker(tmp_path, broker, mlflow_sqlite_uri))

    for _ in range(8):
        upload(client, coffee_png)
    wait_for(all_mirrored, timeout=60, what="8 predictions mirrored")

    assert steps_in_mlflow(mlflow_sqlite_uri) == ok_ids()
    assert len(ok_ids()) == 8
    row = Prediction.objects.first()
    assert (row.mlflow_run_id, row.mlflow_step) == (ServingRun.objects.get().run_id, row.pk)


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(transactional_db, tmp_path, broker, mlflow_sqlite_uri, workers):
    predictions_make(3000, mirrored=False)
    worker = start_worker(tmp_path, broker, mlflow_sqlite_uri, NUTRILEARN_MIRROR_BATCH_SIZE="100")
    workers.append(worker)

    assert mirror.mirror_enqueue() is True

    def frozen_mid_batch() -> bool:
        """Stop the worker (SIGSTOP) and keep it stopped if it is mid-batch: the state checked is the state it is killed in."""
        worker.signal(signal.SIGSTOP)
        pending = Prediction.objects.filter(mirrored_at__isnull=True)
        if (
            Prediction.objects.filter(mirrored_at__isnull=False).exists()
            and pending.filter(mirror_claimed_at__isnull=False).exists()
            and JobRun.objects.filter(name=Job.MIRROR_BATCH, status="running").exists()
        ):
            return True
        worker.signal(signal.SIGCONT)
        return False

    wait_for(frozen_mid_batch, timeout=60, interval=0.01, what="a batch in flight")
    worker.kill()
    mirrored_before_restart = Prediction.objects.filter(mirrored_at__isnull=False).count()
    workers.append(start_worker(tmp_path, broker, mlflow_sqlite_uri, NUTRILEARN_MIRROR_BATCH_SIZE="100"))
    wait_for(all_mirrored, timeout=90, what="3,000 predictions mirrored after the restart", logs=workers[-1:])
    wait_for(
        lambda: not JobRun.objects.filter(status="running").exists(), timeout=30, what="the lost batch marked failed", logs=workers[-1:]
    )

    assert 0 < mirrored_before_restart < 3000
    assert steps_in_mlflow(mlflow_sqlite_uri) == ok_ids()
    assert JobRun.objects.filter(status="failed", error__contains="worker lost").exists()


def test_uploads_while_redis_is_down_are_mirrored_once_it_is_back(
    transactional_db, tmp_path, broker, mlflow_sqlite_uri, workers, client, catalogue, coffee_png
):
    workers.append(start_worker(tmp_path, broker, mlflow_sqlite_uri))
    for _ in range(3):
        upload(client, coffee_png)
    wait_for(all_mirrored, timeout=60, what="the first uploads mirrored")

    broker.stop()
    upload_seconds = [upload(client, coffee_png) for _ in range(4)]
    mirror.enqueue_breaker.reset()  # time a real attempt on the stopped Redis, not the breaker
    started = time.perf_counter()
    published = mirror.mirror_enqueue()
    publish_seconds = time.perf_counter() - started
    assert Prediction.objects.filter(mirrored_at__isnull=True).count() == 4

    broker.start()
    wait_for(all_mirrored, timeout=90, what="the uploads made while Redis was down mirrored", logs=workers)

    assert steps_in_mlflow(mlflow_sqlite_uri) == ok_ids()
    assert len(ok_ids()) == 7
    assert published is False
    assert publish_seconds < 0.25  # about 1 ms when idle; kombu's default connection retry would take 2 s
    assert max(upload_seconds) < 2  # inference plus a failed or skipped publish; generous against a busy machine


def test_a_worker_holding_a_delayed_mirror_task_when_redis_goes_down_reconnects_and_mirrors_once_it_is_back(
    transactional_db, tmp_path, broker, mlflow_sqlite_uri, workers
):
    """An upload's mirror task waits out its countdown in the worker, unacknowledged, while the worker keeps polling Redis.

    Losing the broker then must make the worker reconnect, not exit (the worker's clean-up of the lost connection
    tried to hand the held message back to the Redis that had gone, and crashed the worker).
    """
    predictions_make(5, mirrored=False)
    # The long countdown holds the task in the worker for the whole test; the short expiry of its "waiting" mark
    # lets the sweeper publish again soon after Redis is back (the held message went with the Redis that stopped).
    worker = start_worker(tmp_path, broker, mlflow_sqlite_uri, NUTRILEARN_MIRROR_SCHEDULE_TTL_SECONDS="5")
    workers.append(worker)
    assert mirror.mirror_enqueue(countdown=600) is True
    wait_for(lambda: "mirror_pending_predictions" in worker.output(), timeout=30, what="the delayed task received", logs=workers)

    broker.stop()
    wait_for(lambda: "Connection to broker lost" in worker.output(), timeout=30, what="the worker noticing the broker gone", logs=workers)
    broker.start()
    wait_for(
        lambda: all_mirrored() or not worker.running,
        timeout=90,
        what="the predictions mirrored by the sweeper once Redis is back",
        logs=workers,
    )
    assert worker.running, worker.output()[-4000:]
    assert steps_in_mlflow(mlflow_sqlite_uri) == ok_ids()


def test_predictions_made_while_mlflow_is_unreachable_show_the_error_and_are_mirrored_once_it_is_back(
    transactional_db, tmp_path, broker, mlflow_sqlite_uri, workers
):
    server = MlflowServer(tmp_path, backend_uri=mlflow_sqlite_uri, artifacts_uri=(tmp_path / "artifacts").as_uri()).start()
    try:
        # A short backoff keeps the test quick; the worker still leaves the backlog alone for it after a failure.
        workers.append(start_worker(tmp_path, broker, server.url, NUTRILEARN_MIRROR_BACKOFF_SECONDS="3"))
        predictions_make(5, mirrored=False)
        mirror.mirror_enqueue()
        wait_for(all_mirrored, timeout=60, what="the first predictions mirrored through the MLflow server")

        server.kill()
        predictions_make(5, mirrored=False)
        mirror.mirror_enqueue()
        wait_for(
            lambda: Prediction.objects.filter(mirrored_at__isnull=True, mirror_error__startswith="MLflow unavailable").count() == 5,
            timeout=60,
            what="the failure recorded on the rows",
        )
        # The batch's record is finished just after its rows are released.
        wait_for(
            lambda: JobRun.objects.filter(status="failed", error__contains=server.url).exists(),
            timeout=30,
            what="the failure recorded on the batch's job run",
        )

        server.start()
        wait_for(all_mirrored, timeout=90, what="the predictions mirrored once MLflow is back")
    finally:
        server.stop()

    assert steps_in_mlflow(mlflow_sqlite_uri) == ok_ids()
    assert len(ok_ids()) == 10
    assert set(Prediction.objects.values_list("mirror_error", flat=True)) == {""}


def mirror_lags() -> list[float]:
    rows = Prediction.objects.filter(status="ok").values_list("created_at", "mirrored_at")
    return sorted((mirrored - created).total_seconds() for created, mirrored in rows)


def burst_of_uploads(client, image: bytes, *, count: int, queued: Callable[[], int]) -> list[int]:
    """Upload ``count`` photos back to back; returns how many mirror messages were queued after each."""
    depths = []
    for _ in range(count):
        upload(client, image)
        depths.append(queued())
    return depths


@pytest.mark.slow
def test_a_burst_of_200_uploads_on_the_embedded_broker_queues_a_handful_of_mirror_tasks_and_mirrors_each_once(
    transactional_db, tmp_path, mlflow_sqlite_uri, workers, client, catalogue, coffee_png
):
    var_dir = tmp_path / "var"
    queue_folder = var_dir / "broker" / "queue"
    with celery_broker("filesystem://", filesystem_broker_options(var_dir)):
        broker_folders_ensure()
        workers.append(start_worker(tmp_path, SimpleNamespace(url="filesystem://"), mlflow_sqlite_uri))

        depths = burst_of_uploads(client, coffee_png, count=200, queued=lambda: len(list(queue_folder.glob("*.mlflow.msg"))))
        wait_for(all_mirrored, timeout=120, what="200 predictions mirrored")
        wait_for(lambda: not list(queue_folder.glob("*.mlflow.msg")), timeout=30, what="the mirror queue drained")

    lags = mirror_lags()
    assert max(depths) <= 3
    assert steps_in_mlflow(mlflow_sqlite_uri) == ok_ids()
    assert len(ok_ids()) == 200
    assert lags[int(0.99 * len(lags)) - 1] <= 10


@pytest.mark.slow
def test_a_burst_of_200_uploads_on_redis_queues_a_handful_of_mirror_tasks_and_mirrors_each_once(
    transactional_db, tmp_path, broker, mlflow_sqlite_uri, workers, client, catalogue, coffee_png
):
    workers.append(start_worker(tmp_path, broker, mlflow_sqlite_uri))
    queue = redis.Redis(port=broker.port)

    depths = burst_of_uploads(client, coffee_png, count=200, queued=lambda: queue.llen("mlflow"))
    wait_for(all_mirrored, timeout=120, what="200 predictions mirrored")

    lags = mirror_lags()
    assert max(depths) <= 3
    assert steps_in_mlflow(mlflow_sqlite_uri) == ok_ids()
    assert len(ok_ids()) == 200
    assert lags[int(0.99 * len(lags)) - 1] <= 10
