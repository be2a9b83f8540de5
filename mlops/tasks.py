"""Celery tasks: thin wrappers that take ids, re-fetch and call a service.

Each task is named after what it does, without a suffix (``mlops.tasks.alerts_evaluate``); queues
are set in ``CELERY_TASK_ROUTES`` and periodic runs in ``CELERY_BEAT_SCHEDULE`` (settings).
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from . import alerts, drift_reports, jobs, mirror, notifications, rollups
from .mlflow_store import MlflowUnavailable

logger = logging.getLogger(__name__)


# Routed to the "mlflow" queue (CELERY_TASK_ROUTES): one consumer when the MLflow store is SQLite.
@shared_task(
    autoretry_for=(MlflowUnavailable, OperationalError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
)
def mirror_pending_predictions() -> dict:
    """Mirror every pending prediction into MLflow in batches; idempotent, takes no ids (it claims rows).

    The database unreachable: retried with backoff, then left to the sweeper; nothing is lost. MLflow
    unreachable: this worker then leaves the backlog alone for NUTRILEARN_MIRROR_BACKOFF_SECONDS (tasks in
    that time, retries included, return at once); the sweeper or the next upload publishes the next attempt.
    Starting empties the "mirror task waiting" mark first, so an upload committed from now on publishes again.
    """
    mirror.mirror_schedule_clear()
    report = mirror.mirror_pending()
    if report.more_pending:
        mirror.mirror_enqueue(countdown=0)
    return report.as_dict()


@shared_task
def mirror_sweep() -> bool:
    """Re-enqueue mirroring when predictions wait past the grace period (Redis may have lost their task).

    Publishes only when no mirror task is waiting, or the waiting one is older than its expiry; tries even
    while this process's uploads skip publishing after a broker error (a broker back is used at once). Also marks
    batches of lost workers as failed and prunes old successful job records (of every job).
    """
    abandoned = mirror.abandoned_jobs_fail()
    if abandoned:
        logger.warning("%d mirror batches were abandoned by a lost worker", abandoned)
    jobs.job_runs_prune()
    if not mirror.mirror_due():
        return False
    return mirror.mirror_enqueue(countdown=0, skip_while_broken=False)


# Routed to the "mlflow" queue like the mirror: it logs a drift run.
@shared_task
def drift_report_scheduled() -> dict:
    """Compute and store the periodic drift report (window lengths from settings); a new row each run.

    MLflow unreachable: the report is still stored and the failure recorded as a job run.
    """
    report = drift_reports.drift_report_scheduled()
    return {"drift_report_id": report.pk, "verdict": report.verdict, "mlflow_run_id": report.mlflow_run_id}


@shared_task
def alerts_evaluate() -> dict:
    """Evaluate every enabled alert rule once; idempotent (an open alert is never opened twice). Webhooks go out as their own tasks."""
    return alerts.alerts_evaluate_job()


@shared_task(
    bind=True,
    autoretry_for=(notifications.WebhookRetryable,),
    retry_backoff=settings.NUTRILEARN_WEBHOOK_BACKOFF_SECONDS,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=max(0, settings.NUTRILEARN_WEBHOOK_MAX_ATTEMPTS - 1),
)
def alert_webhook_deliver(self, delivery_id: int) -> bool:
    """POST one alert webhook delivery (an AlertDelivery id); each attempt is recorded on the row.

    No answer, a 5xx, 408 or 429: retried with exponential backoff until NUTRILEARN_WEBHOOK_MAX_ATTEMPTS
    attempts in all; any other refusal is final. Delivered or deleted deliveries are not sent again.
    """
    return notifications.webhook_attempt(delivery_id=delivery_id, last_attempt=self.request.retries >= self.max_retries)


@shared_task
def monitoring_rollups_refresh() -> dict:
    """Bring the monitoring rollups up to date (mlops/rollups.py); idempotent, safe to run at any time."""
    return rollups.rollups_refresh_job()


# The lifecycle packages keep their tasks beside their services; importing them here registers them with the worker.
from .retraining import tasks as retraining_tasks  # noqa: E402, F401
from .shadow import tasks as shadow_tasks  # noqa: E402, F401
