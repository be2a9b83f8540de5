"""Mirroring predictions in-process: payloads, claims, the sweeper and enqueueing, and (marked integration) batches
written into a real local MLflow store (SQLite in tmp_path)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from mlops import mirror, mlflow_store, tasks
from mlops.jobs import Job
from mlops.mirror import PendingPrediction, mirror_enqueue, prediction_points, window_points
from mlops.models import JobRun, MirrorSchedule, ServingRun
from mlops.percentiles import LATENCY_RELATIVE_ERROR
from predictions.models import Prediction
from tests.mlops.factories import food_make, predictions_make
from tests.mlops.mirror_support import TcpServer, celery_broker, metric_steps
from tests.support.mlflow import mlflow_store_at
from tests.support.network import unused_port


def pending(**fields) -> PendingPrediction:
    values = {
        "id": 7,
        "created_at": datetime(2026, 3, 1, 12, 0, 30, 250000, tzinfo=UTC),
        "confidence": 0.8,
        "processing_time_seconds": 0.12,
        "no_food": False,
        "food_key": "espresso",
        "model_name": "food-classifier",
        "model_version": "3",
    }
    return PendingPrediction(**{**values, **fields})


# Payloads.


def test_a_prediction_is_two_points_at_its_id_and_creation_time():
    points = prediction_points(pending(id=42))

    assert [(p.key, p.value, p.step) for p in points] == [("confidence", 0.8, 42), ("processing_time_seconds", 0.12, 42)]
    assert {p.timestamp_ms for p in points} == {1772366430250}
    assert prediction_points(pending(id=42)) == points


def test_window_aggregates_count_mean_confidence_latency_percentiles_no_food_share_and_foods():
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    members = [
        pending(id=1, confidence=0.9, processing_time_seconds=0.1, food_key="espresso"),
        pending(id=2, confidence=0.7, processing_time_seconds=0.2, food_key="espresso"),
        pending(id=3, confidence=0.5, processing_time_seconds=0.3, food_key="pizza"),
        pending(id=4, confidence=0.3, processing_time_seconds=1.0, food_key=None, no_food=True),
    ]

    points = {p.key: p for p in window_points(window_start=start, window_seconds=60, predictions=members)}

    assert points["window_count"].value == 4
    assert points["window_confidence_mean"].value == pytest.approx(0.6)
    # Latency percentiles are histogram percentiles (mlops.percentiles): within 1 % of the exact ones.
    assert points["window_latency_p50_seconds"].value == pytest.approx(0.25, rel=LATENCY_RELATIVE_ERROR)
    assert points["window_latency_p95_seconds"].value == pytest.approx(0.3 + 0.85 * 0.7, rel=LATENCY_RELATIVE_ERROR)
    assert points["window_no_food_share"].value == 0.25
    assert points["window_food_count.espresso"].value == 2
    assert points["window_food_count.pizza"].value == 1
    assert {p.step for p in points.values()} == {int(start.timestamp()) // 60}
    assert {p.timestamp_ms for p in points.values()} == {int(start.timestamp() + 60) * 1000}


# Mirroring batches.


@pytest.mark.integration  # a real MLflow store
@pytest.mark.django_db
def test_mirroring_puts_each_prediction_in_the_serving_run_once_and_marks_the_row(mlflow_client):
    rows = predictions_make(5, food=food_make("espresso"), mirrored=False, model_version="3")

    outcome = mirror.predictions_mirror_batch()

    run = ServingRun.objects.get()
    assert outcome.mirrored == 5
    assert (run.model_name, run.model_version) == ("food-classifier", "3")
    assert sorted(metric_steps(mlflow_client, run.run_id, "confidence")) == [row.pk for row in rows]
    assert sorted(metric_steps(mlflow_client, run.run_id, "processing_time_seconds")) == [row.pk for row in rows]
    stored = Prediction.objects.get(pk=rows[2].pk)
    assert stored.mirrored_at is not None
    assert (stored.mlflow_run_id, stored.mlflow_step) == (run.run_id, rows[2].pk)
    assert mlflow_client.get_run(run.run_id).data.tags["model_version"] == "3"
    assert JobRun.objects.get().status == JobRun.Status.SUCCEEDED


@pytest.mark.integration  # a real MLflow store
@pytest.mark.django_db
def test_a_large_batch_is_sent_in_requests_of_at_most_1000_metrics(mlflow_client, monkeypatch):
    rows = predictions_make(1300, mirrored=False, spacing=timedelta(milliseconds=10))
    client = mlflow_store.get_client()
    sizes = []
    real_log_batch = client.log_batch

    def log_batch(run_id, metrics=(), **kwargs):
        sizes.append(len(metrics))
        return real_log_batch(run_id, metrics=metrics, **kwargs)

    monkeypatch.setattr(client, "log_batch", log_batch)

    mirror.predictions_mirror_batch(limit=2000)

    assert sizes == [1000, 1000, 600]
    run_id = ServingRun.objects.get().run_id
    assert sorted(metric_steps(mlflow_client, run_id, "confidence")) == [row.pk for row in rows]


@pytest.mark.integration  # a real MLflow store
@pytest.mark.django_db
def test_a_batch_sent_again_after_a_crash_writes_nothing_twice(mlflow_client):
    rows = predictions_make(20, mirrored=False)
    # A worker logged these points and died before marking the rows.
    run_id = mirror.serving_run_ensure(model_name="food-classifier", model_version="1", day=rows[0].created_at.date())
    crashed = mirror.predictions_claim(limit=20, now=timezone.now())
    mlflow_store.metrics_log_batch(run_id=run_id, points=[p for row in crashed for p in prediction_points(row)])

    report = mirror.mirror_pending(batch_size=20)

    assert report.mirrored == 0  # the dead worker's claim has not timed out yet
    later = timezone.now() + timedelta(hours=1)
    assert mirror.predictions_mirror_batch(now=later).mirrored == 20
    steps = metric_steps(mlflow_client, run_id, "confidence")
    assert sorted(steps) == [row.pk for row in rows]


@pytest.mark.django_db
def test_a_claimed_row_is_not_claimed_again_until_its_claim_times_out(settings):
    settings.NUTRILEARN_MIRROR_CLAIM_TIMEOUT_SECONDS = 60
    predictions_make(3, mirrored=False)
    now = timezone.now()

    first = mirror.predictions_claim(limit=10, now=now)
    second = mirror.predictions_claim(limit=10, now=now + timedelta(seconds=30))
    third = mirror.predictions_claim(limit=10, now=now + timedelta(seconds=61))

    assert len(first) == 3
    assert second == []
    assert [p.id for p in third] == [p.id for p in first]


@pytest.mark.django_db
def test_refused_and_failed_requests_are_not_mirrored():
    predictions_make(2, status=Prediction.Status.REJECTED, mirrored=False)
    predictions_make(1, status=Prediction.Status.FAILED, mirrored=False)

    assert mirror.predictions_mirror_batch() is None


@pytest.mark.django_db
def test_mlflow_unreachable_releases_the_claim_and_records_the_error_on_rows_and_job(settings, tmp_path):
    predictions_make(4, mirrored=False)
    with mlflow_store_at(settings, f"http://127.0.0.1:{unused_port()}", tmp_path / "artifacts"):
        with pytest.raises(mlflow_store.MlflowUnavailable):
            mirror.predictions_mirror_batch()

    rows = Prediction.objects.all()
    assert {row.mirrored_at for row in rows} == {None}
    assert {row.mirror_claimed_at for row in rows} == {None}
    assert {row.mirror_attempts for row in rows} == {0}
    assert all(row.mirror_error.startswith("MLflow unavailable") for row in rows)
    job = JobRun.objects.get()
    assert job.status == JobRun.Status.FAILED
    assert "create serving run" in job.error


@pytest.mark.integration  # a real MLflow store
@pytest.mark.django_db
def test_a_batch_mlflow_refuses_is_retried_row_by_row_and_ends_as_visible_poison(mlflow_client, settings):
    settings.NUTRILEARN_MIRROR_MAX_ATTEMPTS = 2
    settings.NUTRILEARN_MIRROR_CLAIM_TIMEOUT_SECONDS = 0
    # Rows stamped before 1970 (a bad import or clock): MLflow refuses negative timestamps.
    rows = predictions_make(3, at=datetime(1969, 12, 31, 23, 59, tzinfo=UTC), mirrored=False)

    report = mirror.mirror_pending()

    assert report.mirrored == 0
    assert report.batches == 1 + 3  # the whole batch once, then each row alone
    assert sorted(Prediction.objects.mirror_given_up().values_list("id", flat=True)) == [row.pk for row in rows]
    assert all("MLflow refused the batch" in row.mirror_error for row in Prediction.objects.all())
    assert all("Timestamp must be a nonnegative" in row.mirror_error for row in Prediction.objects.all())
    assert mirror.predictions_mirror_batch() is None
    assert JobRun.objects.filter(status=JobRun.Status.FAILED).count() == 4
    assert mlflow_client.get_run(ServingRun.objects.get().run_id).info.lifecycle_stage == "active"


@pytest.mark.integration  # a real MLflow store
@pytest.mark.django_db
def test_a_serving_run_deleted_in_mlflow_is_restored_and_the_next_batch_mirrors_into_it(mlflow_client):
    first = predictions_make(3, mirrored=False)
    mirror.predictions_mirror_batch()
    run_id = ServingRun.objects.get().run_id
    mlflow_client.delete_run(run_id)  # someone deleted the serving run in the MLflow UI
    later = predictions_make(2, at=first[-1].created_at + timedelta(seconds=1), mirrored=False)

    report = mirror.mirror_pending()

    assert (report.mirrored, report.rejected) == (2, 0)
    assert mlflow_client.get_run(run_id).info.lifecycle_stage == "active"
    assert ServingRun.objects.get().run_id == run_id
    assert sorted(metric_steps(mlflow_client, run_id, "confidence")) == [row.pk for row in first + later]
    assert set(Prediction.objects.values_list("mlflow_run_id", "mirror_attempts", "mirror_error")) == {(run_id, 0, "")}
    assert not JobRun.objects.filter(status=JobRun.Status.FAILED).exists()


@pytest.mark.integration  # a real MLflow store
@pytest.mark.django_db
def test_a_serving_run_missing_from_the_mlflow_store_is_replaced_by_a_new_one(mlflow_client):
    rows = predictions_make(2, mirrored=False)
    # The run was purged (mlflow gc) or the tracking URI now points at another store.
    ServingRun.objects.create(model_name="food-classifier", model_version="1", day=rows[0].created_at.date(), run_id="0" * 32)

    outcome = mirror.predictions_mirror_batch()

    run_id = ServingRun.objects.get().run_id
    assert (outcome.mirrored, outcome.run_ids) == (2, [run_id])
    assert run_id != "0" * 32
    assert sorted(metric_steps(mlflow_client, run_id, "confidence")) == [row.pk for row in rows]


@pytest.mark.integration  # a real MLflow store
@pytest.mark.django_db
def test_two_workers_creating_the_same_serving_run_end_up_with_one(mlflow_client, monkeypatch):
    day = timezone.now().date()
    real_create = mlflow_store.serving_run_create

    def create_while_another_worker_wins(**key):
        ServingRun.objects.create(**key, run_id=real_create(**key))
        return real_create(**key)

    monkeypatch.setattr(mlflow_store, "serving_run_create", create_while_another_worker_wins)

    run_id = mirror.serving_run_ensure(model_name="food-classifier", model_version="1", day=day)

    winner = ServingRun.objects.get()
    assert run_id == winner.run_id
    runs = mlflow_client.search_runs([mlflow_store.experiment_id()], run_view_type=3)
    assert sorted(run.info.lifecycle_stage for run in runs) == ["active", "deleted"]


# Window aggregates.


@pytest.mark.integration  # a real MLflow store
@pytest.mark.django_db
def test_finished_windows_get_their_aggregates_once_all_their_predictions_are_mirrored(mlflow_client, settings):
    settings.NUTRILEARN_MIRROR_WINDOW_SECONDS = 60
    minute = (timezone.now() - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    predictions_make(3, at=minute, spacing=timedelta(seconds=10), mirrored=False, food=food_make("pizza"), confidence=0.6)
    predictions_make(2, at=minute + timedelta(minutes=1), mirrored=False, food=food_make("espresso"), confidence=0.9)
    late = predictions_make(1, at=minute + timedelta(minutes=1, seconds=30), mirrored=False)[0]
    Prediction.objects.filter(pk=late.pk).update(mirror_claimed_at=timezone.now())  # still being mirrored by another worker

    mirror.mirror_pending()
    run_id = ServingRun.objects.get().run_id
    counts = mlflow_client.get_metric_history(run_id, "window_count")

    assert [(m.step, m.value) for m in counts] == [(int(minute.timestamp()) // 60, 3.0)]
    assert mlflow_client.get_metric_history(run_id, "window_food_count.pizza")[0].value == 3

    Prediction.objects.filter(pk=late.pk).update(mirror_claimed_at=None)
    mirror.mirror_pending()
    mirror.serving_windows_close()

    counts = mlflow_client.get_metric_history(run_id, "window_count")
    assert [m.value for m in sorted(counts, key=lambda m: m.step)] == [3.0, 3.0]
    assert mlflow_client.get_metric_history(run_id, "window_confidence_mean")[-1].value == pytest.approx((0.9 * 2 + 0.9) / 3)


# The sweeper and the enqueue hook.


@pytest.mark.django_db
def test_the_sweeper_sees_predictions_waiting_past_the_grace_period_but_not_fresh_ones(settings):
    settings.NUTRILEARN_MIRROR_GRACE_SECONDS = 30
    predictions_make(1, at=timezone.now(), mirrored=False)

    assert mirror.mirror_due() is False
    assert mirror.mirror_due(now=timezone.now() + timedelta(seconds=31)) is True


@pytest.mark.django_db
def test_a_worker_lost_mid_batch_leaves_a_job_marked_failed_by_the_sweeper(settings):
    settings.NUTRILEARN_MIRROR_CLAIM_TIMEOUT_SECONDS = 60
    job = JobRun.objects.create(name=Job.MIRROR_BATCH)

    assert mirror.abandoned_jobs_fail() == 0
    assert mirror.abandoned_jobs_fail(now=timezone.now() + timedelta(seconds=61)) == 1
    job.refresh_from_db()
    assert job.status == JobRun.Status.FAILED
    assert "worker lost" in job.error


@pytest.mark.django_db
def test_a_batch_is_claimed_only_together_with_its_running_record(monkeypatch):
    predictions_make(3, mirrored=False)

    def record_lost(*args, **kwargs):
        raise RuntimeError("the worker died between the claim and its record")

    monkeypatch.setattr(mirror, "job_run_start", record_lost)
    with pytest.raises(RuntimeError):
        mirror.predictions_mirror_batch()

    assert Prediction.objects.filter(mirror_claimed_at__isnull=False).count() == 0
    assert JobRun.objects.count() == 0


@pytest.mark.django_db
def test_an_upload_with_the_broker_down_succeeds_and_leaves_the_prediction_to_the_sweeper(
    client, catalogue, coffee_png, django_capture_on_commit_callbacks
):
    with celery_broker(f"redis://127.0.0.1:{unused_port()}/0"):
        client.post("/api/v1/predict", {"image": _upload(coffee_png)})  # warms the model and the broker pool
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post("/api/v1/predict", {"image": _upload(coffee_png)})
        mirror.enqueue_breaker.reset()  # time a real attempt on the closed port, not the breaker
        started = time.perf_counter()
        published = mirror.mirror_enqueue()
        enqueue_seconds = time.perf_counter() - started

    assert response.status_code == 201
    assert mirror_enqueue in callbacks
    assert published is False
    assert enqueue_seconds < 0.25  # about 1 ms when idle; kombu's default connection retry would take 2 s
    assert Prediction.objects.filter(status="ok", mirrored_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_a_broker_that_never_answers_holds_one_upload_and_the_next_uploads_skip_publishing(
    client, catalogue, coffee_png, settings, django_capture_on_commit_callbacks
):
    settings.NUTRILEARN_ENQUEUE_BACKOFF_SECONDS = 30
    enqueue_seconds = []
    with TcpServer() as broker, celery_broker(broker.url):
        for _ in range(3):
            with django_capture_on_commit_callbacks() as callbacks:
                response = client.post("/api/v1/predict", {"image": _upload(coffee_png)})
            assert response.status_code == 201
            assert mirror_enqueue in callbacks
            started = time.perf_counter()
            mirror_enqueue()
            enqueue_seconds.append(time.perf_counter() - started)
        publish_attempts = broker.connections

    assert 1 < enqueue_seconds[0] < 4  # held for the Redis socket timeout (2 s)
    assert max(enqueue_seconds[1:]) < 0.1
    assert publish_attempts == 1
    assert Prediction.objects.filter(status="ok", mirrored_at__isnull=True).count() == 3
    assert mirror.mirror_due(now=timezone.now() + timedelta(seconds=settings.NUTRILEARN_MIRROR_GRACE_SECONDS + 1)) is True


@pytest.mark.django_db
def test_publishing_is_tried_again_once_the_enqueue_backoff_is_over(settings, caplog):
    settings.NUTRILEARN_ENQUEUE_BACKOFF_SECONDS = 0.5
    with TcpServer(hang_up=True) as broker, celery_broker(broker.url):
        results = [mirror_enqueue()]
        attempts_first = broker.connections
        results.append(mirror_enqueue())
        attempts_within_backoff = broker.connections
        time.sleep(0.6)
        results.append(mirror_enqueue())
        attempts_after_backoff = broker.connections

    assert results == [False, False, False]
    assert attempts_first > 0
    assert attempts_within_backoff == attempts_first
    assert attempts_after_backoff > attempts_within_backoff
    assert len([record for record in caplog.records if "not trying again for 0.5 s" in record.getMessage()]) == 2
    assert MirrorSchedule.objects.get().published_at is None  # a failed publish leaves no task marked as waiting


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("meal.png", data, content_type="image/png")


@pytest.mark.django_db
def test_a_burst_of_uploads_publishes_one_mirror_task_until_a_worker_starts_it():
    published = [mirror_enqueue() for _ in range(5)]  # the suite's broker is in memory
    mirror.mirror_schedule_clear()  # what the task does as it starts
    published_after_start = mirror_enqueue()

    assert published == [True, False, False, False, False]
    assert published_after_start is True


@pytest.mark.django_db
def test_a_mirror_task_not_started_within_its_expiry_is_taken_as_lost_and_published_again(settings):
    settings.NUTRILEARN_MIRROR_SCHEDULE_TTL_SECONDS = 60
    now = timezone.now()

    assert mirror.mirror_schedule_claim(now=now) is True
    assert mirror.mirror_schedule_claim(now=now + timedelta(seconds=59)) is False
    assert mirror.mirror_schedule_claim(now=now + timedelta(seconds=61)) is True
    assert MirrorSchedule.objects.get().published_at == now + timedelta(seconds=61)


@pytest.mark.django_db
def test_the_mirror_task_forgets_the_waiting_mark_before_it_mirrors(mlflow_client):
    predictions_make(3, mirrored=False)
    mirror.mirror_schedule_claim()

    result = tasks.mirror_pending_predictions.apply().get()

    assert result["mirrored"] == 3
    assert MirrorSchedule.objects.get().published_at is None


@pytest.mark.django_db
def test_the_sweeper_publishes_nothing_while_a_mirror_task_is_waiting(settings):
    settings.NUTRILEARN_MIRROR_GRACE_SECONDS = 0
    predictions_make(1, at=timezone.now() - timedelta(seconds=5), mirrored=False)
    mirror.mirror_schedule_claim()
    while_waiting = tasks.mirror_sweep.apply().get()
    mirror.mirror_schedule_clear()
    once_started = tasks.mirror_sweep.apply().get()

    assert (while_waiting, once_started) == (False, True)


@pytest.mark.django_db
def test_the_sweeper_publishes_while_uploads_skip_publishing_after_a_broker_error_and_lets_them_publish_again(settings):
    settings.NUTRILEARN_MIRROR_GRACE_SECONDS = 0
    predictions_make(1, at=timezone.now() - timedelta(seconds=5), mirrored=False)
    mirror.enqueue_breaker.open(seconds=30)  # an upload's publish failed a moment ago; the broker is back since
    upload_published = mirror.mirror_enqueue()

    swept = tasks.mirror_sweep.apply().get()

    assert (upload_published, swept) == (False, True)
    assert mirror.enqueue_breaker.is_open() is False
    assert MirrorSchedule.objects.get().published_at is not None


@pytest.mark.django_db
def test_staff_find_given_up_predictions_and_their_mlflow_error_in_admin(admin_client, settings):
    settings.NUTRILEARN_MIRROR_MAX_ATTEMPTS = 3
    poison, healthy = predictions_make(2, mirrored=False)
    Prediction.objects.filter(pk=poison.pk).update(mirror_attempts=3, mirror_error="MLflow refused the batch: INVALID_PARAMETER_VALUE")

    listing = admin_client.get("/admin/predictions/prediction/", {"mirror": "poison"})
    detail = admin_client.get(f"/admin/predictions/prediction/{poison.pk}/change/")

    assert list(listing.context["cl"].result_list) == [poison]
    assert "INVALID_PARAMETER_VALUE" in detail.content.decode()


@pytest.mark.django_db
def test_retrying_a_given_up_prediction_from_admin_gives_it_fresh_attempts(admin_client, settings, django_capture_on_commit_callbacks):
    settings.NUTRILEARN_MIRROR_MAX_ATTEMPTS = 3
    poison = predictions_make(1, mirrored=False)[0]
    Prediction.objects.filter(pk=poison.pk).update(mirror_attempts=3, mirror_error="MLflow refused the batch")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post("/admin/predictions/prediction/", {"action": "mirror_retry", "_selected_action": [poison.pk]})

    poison.refresh_from_db()
    assert (poison.mirror_attempts, poison.mirror_error) == (0, "")
    assert Prediction.objects.mirror_given_up().count() == 0
    assert mirror_enqueue in callbacks


@pytest.mark.django_db
def test_the_sweeper_prunes_old_successful_records_of_every_job_and_keeps_failures(settings):
    settings.NUTRILEARN_JOB_RETENTION_DAYS = 7
    jobs = list(Job)
    JobRun.objects.bulk_create([JobRun(name=name, status=JobRun.Status.SUCCEEDED) for name in jobs])
    old_failures = [JobRun.objects.create(name=name, status=JobRun.Status.FAILED) for name in jobs]
    JobRun.objects.update(started_at=timezone.now() - timedelta(days=8))
    recent = [JobRun.objects.create(name=name, status=JobRun.Status.SUCCEEDED) for name in jobs]

    tasks.mirror_sweep()

    assert sorted(JobRun.objects.values_list("pk", flat=True)) == sorted(job.pk for job in old_failures + recent)


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_the_same_moment_get_disjoint_rows():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    rows = predictions_make(400, mirrored=False)
    now = timezone.now()

    def claim(offset_microseconds: int) -> list[int]:
        try:
            return [p.id for p in mirror.predictions_claim(limit=300, now=now + timedelta(microseconds=offset_microseconds))]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(claim, [1, 2])

    assert set(first).isdisjoint(second)
    assert sorted(first + second) == [row.pk for row in rows]


@pytest.mark.integration  # a real MLflow store
@pytest.mark.django_db
def test_window_aggregates_mlflow_refuses_are_recorded_as_a_failed_job_without_blocking_mirroring(mlflow_client):
    yesterday_noon = (timezone.now() - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    predictions_make(2, at=yesterday_noon, mirrored=False)
    mirror.predictions_mirror_batch()
    mlflow_client.delete_run(ServingRun.objects.get().run_id)

    assert mirror.serving_windows_close() == 0

    failure = JobRun.objects.get(name=Job.MIRROR_WINDOWS)
    assert failure.status == JobRun.Status.FAILED
    assert "INVALID_PARAMETER_VALUE" in failure.error
    assert ServingRun.objects.get().aggregates_complete is True


# MLflow down: the backlog is left alone for a while instead of being claimed and released by every task.


@pytest.mark.django_db
def test_with_mlflow_down_a_worker_tries_once_then_leaves_the_backlog_alone_until_the_backoff_is_over(settings, tmp_path):
    predictions_make(5, mirrored=False)
    with TcpServer(hang_up=True) as mlflow_server, mlflow_store_at(settings, mlflow_server.http_url, tmp_path / "artifacts"):
        tasks.mirror_pending_predictions.apply()  # one upload's task, its Celery retries included
        after_first_task = mlflow_server.connections
        later = [tasks.mirror_pending_predictions.apply().get() for _ in range(20)]  # the next uploads' tasks
        after_later_tasks = mlflow_server.connections

    assert after_first_task > 0
    assert after_later_tasks == after_first_task
    assert {report["waiting_for_mlflow"] for report in later} == {True}
    rows = Prediction.objects.all()
    assert {(row.mirrored_at, row.mirror_claimed_at, row.mirror_attempts) for row in rows} == {(None, None, 0)}
    assert JobRun.objects.filter(name=Job.MIRROR_BATCH).count() == 1


@pytest.mark.django_db
def test_once_the_mlflow_backoff_is_over_the_next_task_mirrors_the_backlog(settings, tmp_path, mlflow_sqlite_uri):
    predictions_make(5, mirrored=False)
    with mlflow_store_at(settings, f"http://127.0.0.1:{unused_port()}", tmp_path / "down"):
        tasks.mirror_pending_predictions.apply()
    with mlflow_store_at(settings, mlflow_sqlite_uri, tmp_path / "artifacts"):  # back, and the backoff forgotten
        report = tasks.mirror_pending_predictions.apply().get()

    assert report["mirrored"] == 5
    assert Prediction.objects.filter(mirrored_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_an_uploads_mirror_task_waits_to_collect_a_batch_and_a_backlogs_task_starts_at_once(settings):
    settings.NUTRILEARN_MIRROR_COLLECT_SECONDS = 2.0
    with celery_broker("memory://") as app:
        with app.connection_for_write() as connection:  # the in-memory broker lives as long as the process: drop earlier tests' tasks
            connection.SimpleQueue("mlflow").clear()
        mirror.mirror_schedule_clear()
        sent = timezone.now()
        mirror_enqueue()  # what an upload's commit does
        mirror.mirror_schedule_clear()  # the task started
        mirror_enqueue(countdown=0)  # what the sweeper and a task that left a backlog do
        with app.connection_for_read() as connection:
            queue = connection.SimpleQueue("mlflow")
            etas = [queue.get(timeout=1).headers["eta"] for _ in range(2)]
            queue.close()

    upload_delay = (datetime.fromisoformat(etas[0]) - sent).total_seconds()
    assert 1.5 < upload_delay <= 2.5
    assert etas[1] is None
