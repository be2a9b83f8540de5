"""Celery tasks: thin wrappers that take ids, re-fetch and call a service."""

import logging

from celery import shared_task
from django.db import OperationalError

from . import alerts, drift_reports, jobs, mirror
from .tracking import TrackingUnavailable

logger = logging.getLogger(__name__)


# Routed to the "mlflow" queue (CELERY_TASK_ROUTES): one consumer when the MLflow store is SQLite.
@shared_task(
    autoretry_for=(TrackingUnavailable, OperationalError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
)
def mirror_pending_predictions() -> dict:
    """Mirror every pending prediction into MLflow in batches; idempotent, takes no ids (it claims rows).

    MLflow or the database unreachable: retried with backoff, then left to the sweeper; nothing is lost.
    """
    report = mirror.mirror_pending()
    if report.more_pending:
        mirror_pending_predictions.apply_async()
    return report.as_dict()


@shared_task
def mirror_sweep() -> bool:
    """Re-enqueue mirroring when predictions wait past the grace period (Redis may have lost their task).

    Also marks batches of lost workers as failed and prunes old successful job records (of every job).
    """
    abandoned = mirror.abandoned_jobs_fail()
    if abandoned:
        logger.warning("%d mirror batches were abandoned by a lost worker", abandoned)
    jobs.job_runs_prune()
    if not mirror.mirror_due():
        return False
    mirror_pending_predictions.apply_async()
    return True


# Routed to the "mlflow" queue like the mirror: it logs a drift run.
@shared_task
def drift_report_task() -> dict:
    """Compute and store the periodic drift report (window lengths from settings); a new row each run.

    MLflow unreachable: the report is still stored and the failure recorded as a JobRun.
    """
    report = drift_reports.drift_report_scheduled()
    return {"drift_report_id": report.pk, "verdict": report.verdict, "mlflow_run_id": report.mlflow_run_id}


@shared_task
def alerts_evaluate_task() -> dict:
    """Evaluate every enabled alert rule once; idempotent (an open alert is never opened twice)."""
    return alerts.alerts_evaluate_job()


@shared_task
def monitoring_rollups_refresh() -> dict:
    """Bring the monitoring rollups up to date (mlops/rollups.py); idempotent, safe to run at any time."""
    from .rollups import rollups_refresh_job

    return rollups_refresh_job()
