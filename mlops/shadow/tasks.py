"""Celery tasks of shadow mode, on their own "shadow" queue (CELERY_TASK_ROUTES): the challenger never slows the mirror."""

import logging

from celery import shared_task
from django.db import OperationalError

from ..jobs import Job, job_recorded
from ..mlflow_store import MlflowUnavailable
from . import services
from .serving import ChallengerUnavailable

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(MlflowUnavailable, OperationalError), retry_backoff=5, retry_backoff_max=120, max_retries=3)
def shadow_predict(prediction_id: int) -> dict:
    """The challenger's answer to one prediction (an id); idempotent. A gone prediction or no challenger: logged, nothing stored.

    What this task does not answer (retries exhausted, message lost) the sweeper answers later.
    """
    try:
        shadow = services.shadow_predict(prediction_id=prediction_id)
    except ChallengerUnavailable as exc:
        logger.info("shadow prediction %s skipped: %s", prediction_id, exc)
        return {"prediction_id": prediction_id, "answered": False, "reason": str(exc)}
    return {"prediction_id": prediction_id, "answered": shadow is not None, "agrees": shadow.agrees if shadow else None}


@shared_task
def shadow_sweep() -> int:
    """Answer recent photos that have no shadow answer (their task was lost); recorded as a job run when it answered any."""
    with job_recorded(Job.SHADOW_SWEEP) as record:
        try:
            record.items = services.shadow_sweep()
        except ChallengerUnavailable as exc:
            record.details = {"skipped": str(exc)}
        if not record.items:
            record.forget_if_succeeded()
    return record.items
