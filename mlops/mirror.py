"""Mirroring predictions into MLflow: claim pending rows, log them in batches, mark them mirrored.

The Prediction row is the record; MLflow gets a copy. A prediction's points are fully
determined by its row (step = primary key, timestamp = created_at in ms), so a batch
that is sent again after a crash or a retry writes the same points, which MLflow
stores once. Each model version has one serving run per day (``ServingRun``).

Failures are kept on the rows: a store that cannot be reached releases the claim and
leaves the rows for the retry; a request MLflow refuses counts an attempt, and after
``NUTRILEARN_MIRROR_MAX_ATTEMPTS`` the prediction is given up (``Prediction.objects.mirror_given_up()``):
shown, no longer retried until staff ask.
A refusal because the serving run was deleted (or purged) in MLflow is not the rows'
fault: the run is restored (or replaced) and the batch sent again.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from nutrilearn.breaker import Breaker
from nutrilearn.celery import app as celery_app
from predictions.models import Prediction

from . import mlflow_store
from .jobs import Job, job_failure_record, job_recorded, job_run_start, job_runs_abandoned_fail
from .mlflow_store import MetricPoint, MlflowRejected, MlflowUnavailable
from .models import MirrorSchedule, ServingRun
from .percentiles import latency_percentile

logger = logging.getLogger(__name__)

CONFIDENCE = "confidence"
LATENCY = "processing_time_seconds"
POINTS_PER_PREDICTION = 2


@dataclass(frozen=True)
class PendingPrediction:
    """The fields of a Prediction that reach MLflow."""

    id: int
    created_at: datetime
    confidence: float | None
    processing_time_seconds: float | None
    no_food: bool
    food_key: str | None
    model_name: str
    model_version: str

    @property
    def serving_key(self) -> tuple[str, str, date]:
        return (self.model_name, self.model_version, self.created_at.astimezone(UTC).date())


PENDING_FIELDS = ("id", "created_at", "confidence", "processing_time_seconds", "no_food", "food__key", "model_name", "model_version")


def _pending(values: Iterable[tuple]) -> list[PendingPrediction]:
    return [PendingPrediction(*row) for row in values]


def timestamp_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# Payloads (pure).


def prediction_points(prediction: PendingPrediction) -> list[MetricPoint]:
    """The per-prediction points: step is the prediction's id, timestamp its creation time."""
    moment = timestamp_ms(prediction.created_at)
    points = []
    if prediction.confidence is not None:
        points.append(MetricPoint(CONFIDENCE, float(prediction.confidence), moment, prediction.id))
    if prediction.processing_time_seconds is not None:
        points.append(MetricPoint(LATENCY, float(prediction.processing_time_seconds), moment, prediction.id))
    return points


def window_points(*, window_start: datetime, window_seconds: int, predictions: Sequence[PendingPrediction]) -> list[MetricPoint]:
    """Aggregates of one window: count, mean confidence, latency p50/p95 (``mlops.percentiles``' latency definition, as the API),
    no-food share, count per food.

    Step is the window's index since the epoch and timestamp its end, so the same window
    always gives the same points.
    """
    step = int(window_start.timestamp()) // window_seconds
    moment = timestamp_ms(window_start + timedelta(seconds=window_seconds))
    count = len(predictions)
    points = [MetricPoint("window_count", float(count), moment, step)]
    confidences = [p.confidence for p in predictions if p.confidence is not None]
    if confidences:
        points.append(MetricPoint("window_confidence_mean", sum(confidences) / len(confidences), moment, step))
    latencies = [p.processing_time_seconds for p in predictions if p.processing_time_seconds is not None]
    if latencies:
        points.append(MetricPoint("window_latency_p50_seconds", latency_percentile(latencies, 0.50), moment, step))
        points.append(MetricPoint("window_latency_p95_seconds", latency_percentile(latencies, 0.95), moment, step))
    points.append(MetricPoint("window_no_food_share", sum(1 for p in predictions if p.no_food) / count, moment, step))
    per_food: dict[str, int] = defaultdict(int)
    for prediction in predictions:
        if prediction.food_key and not prediction.no_food:
            per_food[prediction.food_key] += 1
    points.extend(MetricPoint(f"window_food_count.{key}", float(n), moment, step) for key, n in sorted(per_food.items()))
    return points


# Claims.


def _mirrorable():
    return Prediction.objects.mirror_pending()


def _claimable(now: datetime):
    stale = now - timedelta(seconds=settings.NUTRILEARN_MIRROR_CLAIM_TIMEOUT_SECONDS)
    return _mirrorable().filter(Q(mirror_claimed_at__isnull=True) | Q(mirror_claimed_at__lt=stale))


def predictions_claim(*, limit: int, now: datetime) -> list[PendingPrediction]:
    """Claim up to ``limit`` pending predictions for this worker (oldest first) and return them.

    A prediction that failed before is claimed alone, so one bad row cannot sink a batch
    twice. Claims older than the claim timeout (a worker died) are taken over.
    """
    with transaction.atomic():
        claimable = _claimable(now).select_for_update(skip_locked=True).order_by("id")
        ids = list(claimable.filter(mirror_attempts__gt=0).values_list("id", flat=True)[:1])
        if not ids:
            ids = list(claimable.filter(mirror_attempts=0).values_list("id", flat=True)[:limit])
        if not ids:
            return []
        # Conditional, so that a row another worker claimed since our read is not claimed twice even
        # where SELECT ... FOR UPDATE is a no-op (SQLite relies on its one-writer transactions).
        _claimable(now).filter(id__in=ids).update(mirror_claimed_at=now)
        claimed = Prediction.objects.filter(id__in=ids, mirror_claimed_at=now, mirrored_at__isnull=True)
        return _pending(claimed.order_by("id").values_list(*PENDING_FIELDS))


def _release(ids: list[int], *, error: str, count_attempt: bool, now: datetime) -> None:
    """Give claimed rows back with the error; a counted attempt keeps the claim time so the retry waits a claim timeout."""
    rows = Prediction.objects.filter(id__in=ids, mirrored_at__isnull=True)
    if count_attempt:
        rows.update(mirror_attempts=F("mirror_attempts") + 1, mirror_error=error[:2000], mirror_claimed_at=now)
    else:
        rows.update(mirror_error=error[:2000], mirror_claimed_at=None)


# Serving runs.

_serving_runs: dict[tuple[str, str, date], str] = {}


def serving_run_ensure(*, model_name: str, model_version: str, day: date) -> str:
    """The MLflow run id of a model version's day, created once even when several workers race."""
    key = (model_name, model_version, day)
    if key in _serving_runs:
        return _serving_runs[key]
    run_id = ServingRun.objects.filter(model_name=model_name, model_version=model_version, day=day).values_list("run_id", flat=True).first()
    if run_id is None:
        created = mlflow_store.serving_run_create(model_name=model_name, model_version=model_version, day=day)
        try:
            with transaction.atomic():
                ServingRun.objects.create(model_name=model_name, model_version=model_version, day=day, run_id=created)
            run_id = created
        except IntegrityError:
            run_id = ServingRun.objects.get(model_name=model_name, model_version=model_version, day=day).run_id
            mlflow_store.run_delete(created)
    _serving_runs[key] = run_id
    return run_id


def serving_run_revive(*, run_id: str) -> bool:
    """Make a serving run MLflow refused writable again; False when it is active (the refusal is about the data).

    Deleted: restored. Gone from the store: forgotten here, so the next ``serving_run_ensure`` creates a new one.
    """
    stage = mlflow_store.run_lifecycle_stage(run_id)
    if stage == "deleted":
        # Restore rather than replace: the day's earlier points and the mirrored rows' mlflow_run_id stay valid.
        mlflow_store.run_restore(run_id)
        logger.warning("serving run %s was deleted in MLflow; restored it to keep mirroring into it", run_id)
        return True
    if stage is None:
        ServingRun.objects.filter(run_id=run_id).delete()
        for key in [key for key, cached in _serving_runs.items() if cached == run_id]:
            del _serving_runs[key]
        logger.warning("serving run %s is not in the MLflow store; a new serving run replaces it", run_id)
        return True
    return False


def serving_run_log(*, model_name: str, model_version: str, day: date, points: Sequence[MetricPoint]) -> str:
    """Log points into the serving run of a model version's day; returns the run id.

    A refusal caused by a deleted or purged run revives the run and sends the points once
    more (harmless: equal points are stored once); any other refusal is raised.
    """
    run_id = serving_run_ensure(model_name=model_name, model_version=model_version, day=day)
    try:
        mlflow_store.metrics_log_batch(run_id=run_id, points=points)
    except MlflowRejected:
        if not serving_run_revive(run_id=run_id):
            raise
        run_id = serving_run_ensure(model_name=model_name, model_version=model_version, day=day)
        mlflow_store.metrics_log_batch(run_id=run_id, points=points)
    return run_id


def forget_serving_runs() -> None:
    """Drop this process's cache of serving run ids (tests switch MLflow stores)."""
    _serving_runs.clear()


# Batches.


@dataclass
class BatchOutcome:
    claimed: int
    mirrored: int = 0
    rejected: int = 0
    run_ids: list[str] = field(default_factory=list)
    error: str = ""


def predictions_mirror_batch(*, limit: int | None = None, now: datetime | None = None) -> BatchOutcome | None:
    """Claim one batch of pending predictions, log it to MLflow and mark it mirrored; None when nothing is pending.

    Recorded as a ``Job.MIRROR_BATCH`` run. Raises MlflowUnavailable (after releasing the
    claim and recording the error on the rows and on the run) so that the caller can retry
    later. A batch MLflow refuses is recorded as failed and its rows count an attempt; it is not raised.
    """
    now = now or timezone.now()
    # The claim and its "running" record commit together: a worker that dies after the claim always
    # leaves a run that the sweeper marks lost (abandoned_jobs_fail), never rows claimed by no run.
    with transaction.atomic():
        batch = predictions_claim(limit=limit or settings.NUTRILEARN_MIRROR_BATCH_SIZE, now=now)
        if not batch:
            return None
        ids = [prediction.id for prediction in batch]
        run = job_run_start(Job.MIRROR_BATCH, details={"first_id": ids[0], "last_id": ids[-1], "claimed": len(ids)})
    outcome = BatchOutcome(claimed=len(batch))
    with job_recorded(Job.MIRROR_BATCH, run=run) as record:
        try:
            _batch_mirror(batch, outcome)
        except MlflowRejected as exc:
            outcome.error = str(exc)
            unmirrored = list(Prediction.objects.filter(id__in=ids, mirrored_at__isnull=True).values_list("id", flat=True))
            outcome.rejected = len(unmirrored)
            _release(unmirrored, error=f"MLflow refused the batch: {exc}", count_attempt=True, now=now)
            record.fail(outcome.error)
            logger.error("mirror batch %s-%s refused by MLflow: %s", ids[0], ids[-1], exc)
        except MlflowUnavailable as exc:
            record.error = outcome.error = str(exc)
            _release(ids, error=f"MLflow unavailable: {exc}", count_attempt=False, now=now)
            logger.warning("mirror batch %s-%s: MLflow unavailable: %s", ids[0], ids[-1], exc)
            raise
        except OperationalError as exc:
            # The database is locked or unreachable: not the rows' fault, so no attempt is counted.
            record.error = outcome.error = f"database unavailable: {exc}"
            _release(ids, error=outcome.error, count_attempt=False, now=now)
            raise
        except Exception as exc:
            # A bug or a database error: count the attempt so a row that always breaks ends given up.
            outcome.error = f"{type(exc).__name__}: {exc}"
            _release(ids, error=f"mirroring failed: {outcome.error}", count_attempt=True, now=now)
            raise
        finally:
            record.items = outcome.mirrored
            record.details.update({"run_ids": outcome.run_ids, "rejected": outcome.rejected})
    return outcome


def _batch_mirror(batch: list[PendingPrediction], outcome: BatchOutcome) -> None:
    """Log a claimed batch, one serving run (model version and day) at a time, marking each group mirrored once logged."""
    groups: dict[tuple[str, str, date], list[PendingPrediction]] = defaultdict(list)
    for prediction in batch:
        groups[prediction.serving_key].append(prediction)
    for (model_name, model_version, day), members in groups.items():
        points = [point for prediction in members for point in prediction_points(prediction)]
        run_id = serving_run_log(model_name=model_name, model_version=model_version, day=day, points=points)
        mirrored_at = timezone.now()
        outcome.mirrored += Prediction.objects.filter(id__in=[p.id for p in members], mirrored_at__isnull=True).update(
            mirrored_at=mirrored_at, mlflow_run_id=run_id, mlflow_step=F("id"), mirror_claimed_at=None, mirror_error=""
        )
        outcome.run_ids.append(run_id)


@dataclass
class MirrorReport:
    batches: int = 0
    mirrored: int = 0
    rejected: int = 0
    windows: int = 0
    more_pending: bool = False
    waiting_for_mlflow: bool = False

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# After MLflow could not be reached, this process leaves the pending predictions alone for
# NUTRILEARN_MIRROR_BACKOFF_SECONDS. An attempt claims, prepares and releases the whole backlog,
# and a mirror task is published after every upload: trying each of them costs work that grows
# with the outage, on the cores and the database the uploads need. The sweeper and the next
# uploads publish the task that tries again.
mlflow_breaker = Breaker()


def mirror_pending(*, max_seconds: float | None = None, batch_size: int | None = None) -> MirrorReport:
    """Mirror batches until nothing is pending or the time budget is spent, then log finished windows' aggregates.

    Idempotent; raises MlflowUnavailable when MLflow cannot be reached (nothing is lost), after which
    calls in this process return at once (``waiting_for_mlflow``) for NUTRILEARN_MIRROR_BACKOFF_SECONDS.
    """
    report = MirrorReport()
    if mlflow_breaker.is_open():
        report.waiting_for_mlflow = True
        return report
    budget = settings.NUTRILEARN_MIRROR_TASK_SECONDS if max_seconds is None else max_seconds
    deadline = time.monotonic() + budget
    try:
        while True:
            outcome = predictions_mirror_batch(limit=batch_size)
            if outcome is None:
                break
            report.batches += 1
            report.mirrored += outcome.mirrored
            report.rejected += outcome.rejected
            if time.monotonic() >= deadline:
                report.more_pending = _claimable(timezone.now()).exists()
                break
        report.windows = serving_windows_close()
    except MlflowUnavailable as exc:
        seconds = settings.NUTRILEARN_MIRROR_BACKOFF_SECONDS
        if mlflow_breaker.open(seconds=seconds):
            logger.warning("MLflow unreachable: this worker leaves pending predictions alone for %g s: %s", seconds, exc)
        raise
    return report


# Window aggregates.


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def _floor(moment: datetime, seconds: int) -> datetime:
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, tz=UTC)


def serving_windows_close(*, now: datetime | None = None) -> int:
    """Log the aggregates of every window that is over and fully mirrored; returns how many windows were logged.

    A window is over once its end is a grace period in the past and no mirrorable
    prediction of its model version remains before that end. Idempotent: a window's
    points are the same each time they are computed.
    """
    now = now or timezone.now()
    seconds = settings.NUTRILEARN_MIRROR_WINDOW_SECONDS
    logged = 0
    for run in ServingRun.objects.filter(aggregates_complete=False).order_by("day", "id"):
        day_start, day_end = _day_bounds(run.day)
        start = run.aggregated_until or day_start
        horizon = min(now - timedelta(seconds=settings.NUTRILEARN_MIRROR_GRACE_SECONDS), day_end)
        oldest_pending = (
            _mirrorable()
            .filter(model_name=run.model_name, model_version=run.model_version, created_at__gte=start, created_at__lt=horizon)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if oldest_pending is not None:
            horizon = oldest_pending
        horizon = _floor(horizon, seconds) if horizon < day_end else day_end
        if horizon <= start:
            continue
        rows = _pending(
            Prediction.objects.filter(mlflow_run_id=run.run_id, created_at__gte=start, created_at__lt=horizon)
            .order_by("created_at")
            .values_list(*PENDING_FIELDS)
        )
        windows: dict[datetime, list[PendingPrediction]] = defaultdict(list)
        for prediction in rows:
            windows[_floor(prediction.created_at, seconds)].append(prediction)
        points = [
            point
            for window, members in sorted(windows.items())
            for point in window_points(window_start=window, window_seconds=seconds, predictions=members)
        ]
        if points:
            try:
                mlflow_store.metrics_log_batch(run_id=run.run_id, points=points)
                logged += len(windows)
            except MlflowRejected as exc:
                # E.g. the serving run was deleted in the MLflow UI: record it and move on, rather
                # than failing every later mirror task on the same windows.
                window = {"run_id": run.run_id, "from": start.isoformat(), "until": horizon.isoformat()}
                job_failure_record(Job.MIRROR_WINDOWS, error=str(exc), details=window)
                logger.error("window aggregates of run %s refused by MLflow: %s", run.run_id, exc)
        ServingRun.objects.filter(pk=run.pk).update(aggregated_until=horizon, aggregates_complete=horizon >= day_end)
    return logged


# The sweeper's view.


def mirror_due(*, now: datetime | None = None) -> bool:
    """Whether mirroring has work the broker may have lost: predictions waiting past the grace period, or finished windows."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.NUTRILEARN_MIRROR_GRACE_SECONDS)
    if _claimable(now).filter(created_at__lt=now - grace).exists():
        return True
    closable_before = now - grace - timedelta(seconds=settings.NUTRILEARN_MIRROR_WINDOW_SECONDS)
    return ServingRun.objects.filter(aggregates_complete=False).filter(
        Q(aggregated_until__isnull=True) | Q(aggregated_until__lt=closable_before)
    ).exists()


def abandoned_jobs_fail(*, now: datetime | None = None) -> int:
    """Mark mirror batches still running after the claim timeout as failed: their worker died mid-batch."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.NUTRILEARN_MIRROR_CLAIM_TIMEOUT_SECONDS)
    return job_runs_abandoned_fail(
        Job.MIRROR_BATCH, started_before=cutoff, now=now, error="worker lost mid-batch; its predictions were claimed again"
    )


def predictions_mirror_retry(*, ids: Iterable[int]) -> int:
    """Give predictions that were given up (or failing) a fresh set of attempts; returns how many rows."""
    count = Prediction.objects.unmirrored().filter(id__in=list(ids)).update(mirror_attempts=0, mirror_claimed_at=None, mirror_error="")
    if count:
        transaction.on_commit(mirror_enqueue, robust=True)
    return count


# Enqueueing (called after a Prediction commits).


# After a broker error, publishing is skipped for a while (per process), so that uploads stop
# waiting on a broker that is down; what is not published is found by the sweeper.
enqueue_breaker = Breaker()


MIRROR_TASK = "mlops.tasks.mirror_pending_predictions"


def mirror_schedule_claim(*, now: datetime | None = None) -> bool:
    """Mark a mirror task as published unless one is already waiting; returns whether this call may publish.

    A mark older than ``NUTRILEARN_MIRROR_SCHEDULE_TTL_SECONDS`` is taken as a lost message and
    claimed again. Reads before it writes, so a burst of uploads costs one cheap SELECT each.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.NUTRILEARN_MIRROR_SCHEDULE_TTL_SECONDS)
    waiting = MirrorSchedule.objects.filter(pk=1, published_at__gte=stale_before)
    if waiting.exists():
        return False
    free = Q(published_at__isnull=True) | Q(published_at__lt=stale_before)
    if MirrorSchedule.objects.filter(free, pk=1).update(published_at=now):
        return True
    _, created = MirrorSchedule.objects.get_or_create(pk=1, defaults={"published_at": now})
    return created


def mirror_schedule_clear() -> None:
    """Forget the waiting mirror task: called as the task starts (before it claims rows) or when publishing failed.

    A prediction committed after this publishes a new task; one committed before it is mirrored by the starting task.
    """
    MirrorSchedule.objects.filter(pk=1).update(published_at=None)


def mirror_enqueue(*, countdown: float | None = None, skip_while_broken: bool = True) -> bool:
    """Ask a worker to mirror pending predictions, unless a mirror task is already waiting; never raises for broker trouble.

    Returns whether a message was handed to the broker. At most one mirror task waits in the
    queue at a time (``mirror_schedule_claim``), whatever the upload rate and the broker. The task
    starts ``countdown`` seconds later (default NUTRILEARN_MIRROR_COLLECT_SECONDS): the uploads of
    that time join its batch instead of each costing a task, an MLflow request and a window check
    on the cores the uploads need; a backlog is sent for with no countdown. After a
    broker error nothing is published for ``NUTRILEARN_ENQUEUE_BACKOFF_SECONDS``: a broker that
    accepts connections but never answers would otherwise hold every upload for the socket
    timeout. What is not published is found by the sweeper, which passes ``skip_while_broken=False``:
    a background task may wait on the broker, so it tries on every sweep, and its success lets this
    process publish again at once.
    """
    if (skip_while_broken and enqueue_breaker.is_open()) or not mirror_schedule_claim():
        return False
    try:
        delay = settings.NUTRILEARN_MIRROR_COLLECT_SECONDS if countdown is None else countdown
        celery_app.send_task(MIRROR_TASK, retry=False, countdown=delay or None)
        if not skip_while_broken:
            enqueue_breaker.reset()
    except broker_errors() as exc:
        mirror_schedule_clear()
        backoff = settings.NUTRILEARN_ENQUEUE_BACKOFF_SECONDS
        if enqueue_breaker.open(seconds=backoff):
            logger.warning("could not enqueue mirroring; not trying again for %g s (the sweeper catches up): %s", backoff, exc)
        return False
    return True


def broker_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "the broker is unreachable": kombu's, the transport's own (redis-py's), socket errors.

    Only evaluated when publishing failed (an except clause's expression is lazy).
    """
    connection = celery_app.connection_for_write()
    return (KombuOperationalError, OSError, *connection.connection_errors, *connection.channel_errors)
