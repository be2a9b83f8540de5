"""Celery tasks of retraining. ``retrain_run`` goes to its own "training" queue (CELERY_TASK_ROUTES) with a hard time
limit a little above the training budget; ``retrain_check`` is periodic (CELERY_BEAT_SCHEDULE)."""

from celery import shared_task
from django.conf import settings

from . import services

# Training stops itself within its budget; the evaluations and registration get a quarter more, then the worker kills it.
_LIMIT = int(60 * settings.NUTRILEARN_RETRAIN_TIME_BUDGET_MINUTES * 1.25) + 300


@shared_task
def retrain_check() -> int | None:
    """Start a retraining when drift or falling performance says so and enough new labels exist; returns its id or None."""
    run = services.retrain_check()
    return run.pk if run is not None else None


@shared_task(time_limit=_LIMIT + 60, soft_time_limit=_LIMIT, acks_late=False)
def retrain_run(run_id: int) -> dict:
    """Run one pending retraining (a RetrainRun id); a duplicate message or a gone row does nothing.

    Not acknowledged late: a retraining that killed its worker must not start again by itself (the run stays "running").
    """
    run = services.retrain_execute(run_id=run_id)
    if run is None:
        return {"run_id": run_id, "started": False}
    return {"run_id": run_id, "started": True, "model_version": run.model_version, "alert_id": run.alert_id}
