"""Background-job bookkeeping: every job records itself as a ``JobRun`` the same way, and old records are pruned.

``job_recorded`` wraps one run of a job: a "running" row at the start (so a run that never
ends stays visible), then succeeded, or failed with the error (and traceback when it
raised), the number of items handled, details and the duration. Job names come from
``Job``. Rows are what admin (*Job runs*), the dashboard's failed jobs and the health
report's worker heartbeat read.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from .models import JobRun

logger = logging.getLogger(__name__)

ERROR_LIMIT = 2000
TRACEBACK_LIMIT = 20000


class Job(StrEnum):
    """Names of the background jobs, as stored in ``JobRun.name``."""

    MIRROR_BATCH = "mirror_predictions"  # one batch of predictions mirrored into MLflow
    MIRROR_WINDOWS = "mirror_window_aggregates"  # window aggregates MLflow refused (recorded on failure only)
    ROLLUPS_REFRESH = "monitoring_rollups_refresh"
    DRIFT_REPORT = "drift_report"
    DRIFT_REPORT_MLFLOW = "drift_report_mlflow"  # a periodic report not logged to MLflow (recorded on failure only)
    ALERTS_EVALUATE = "alerts_evaluate"
    ORPHANED_PHOTOS_REMOVE = "orphaned_photos_remove"
    SESSIONS_CLEAR = "expired_sessions_clear"  # sessions past their expiry (cookie-less API clients leave one per upload)
    SHADOW_SWEEP = "shadow_sweep"  # photos whose shadow task was lost, answered (recorded when it answered any)
    RETRAIN_CHECK = "retrain_check"  # the watch over drift and performance (recorded when it started a retraining)
    RETRAIN = "retrain"  # one retraining: train, register a challenger, evaluate both models, alert


@dataclass
class JobRecord:
    """What a running job tells its record: items handled, details, a failure it handled without raising."""

    run: JobRun
    items: int = 0
    details: dict = field(default_factory=dict)
    error: str = ""
    failed: bool = False
    keep: bool = True

    def fail(self, error: str) -> None:
        """The run failed, but the job dealt with it and does not raise: recorded as failed with ``error``."""
        self.failed = True
        self.error = error

    def forget_if_succeeded(self) -> None:
        """Nothing worth keeping happened: a successful run's row is deleted at the end (a failure is always kept)."""
        self.keep = False


def job_run_start(name: Job, *, details: dict | None = None) -> JobRun:
    """The "running" row of a new run of job ``name``; ``job_recorded(run=...)`` then records its end.

    Started apart from ``job_recorded`` when it must commit in one transaction with what the run claims."""
    return JobRun.objects.create(name=name, details=details or {})


@contextmanager
def job_recorded(name: Job, *, details: dict | None = None, run: JobRun | None = None) -> Iterator[JobRecord]:
    """Record the block as one run of job ``name``; an exception marks the run failed (type, message, traceback) and is raised again.

    An error the job set on the record before raising (``record.error``) replaces the exception's own message.
    ``run``: a row already started by ``job_run_start`` (``details`` then come from it).
    """
    run = run or job_run_start(name, details=details)
    record = JobRecord(run=run, details=dict(run.details))
    started = time.perf_counter()
    try:
        yield record
    except BaseException as exc:
        error = record.error or f"{type(exc).__name__}: {exc}"
        try:
            _finish(record, started, status=JobRun.Status.FAILED, error=error, trace=traceback.format_exc())
        except DatabaseError:
            # The database may be what failed: the original exception matters more than its record.
            logger.exception("could not record the failure of job %s (run %s)", name, run.pk)
        raise
    if record.failed:
        _finish(record, started, status=JobRun.Status.FAILED, error=record.error)
    elif record.keep:
        _finish(record, started, status=JobRun.Status.SUCCEEDED, error="")
    else:
        JobRun.objects.filter(pk=run.pk).delete()


def _finish(record: JobRecord, started: float, *, status: str, error: str, trace: str = "") -> None:
    JobRun.objects.filter(pk=record.run.pk).update(
        status=status,
        finished_at=timezone.now(),
        duration_seconds=round(time.perf_counter() - started, 4),
        items=record.items,
        error=error[:ERROR_LIMIT],
        traceback=trace[-TRACEBACK_LIMIT:],
        details=record.details,
    )


def job_failure_record(name: Job, *, error: str, details: dict | None = None) -> JobRun:
    """A failed step that the job around it handled and went on from (e.g. MLflow refused one run's window aggregates)."""
    now = timezone.now()
    return JobRun.objects.create(
        name=name, status=JobRun.Status.FAILED, finished_at=now, duration_seconds=0.0, error=error[:ERROR_LIMIT], details=details or {}
    )


def job_runs_abandoned_fail(name: Job, *, started_before: datetime, error: str, now: datetime | None = None) -> int:
    """Mark runs of ``name`` still "running" since before ``started_before`` as failed: their worker died. Returns how many."""
    return JobRun.objects.filter(name=name, status=JobRun.Status.RUNNING, started_at__lt=started_before).update(
        status=JobRun.Status.FAILED, finished_at=now or timezone.now(), error=error[:ERROR_LIMIT]
    )


def job_runs_prune(*, now: datetime | None = None) -> int:
    """Delete successful runs of every job older than ``NUTRILEARN_JOB_RETENTION_DAYS``; failures are kept. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.NUTRILEARN_JOB_RETENTION_DAYS)
    deleted, _ = JobRun.objects.filter(status=JobRun.Status.SUCCEEDED, started_at__lt=cutoff).delete()
    return deleted
