"""Writes of retraining: the periodic check that starts one, and the retraining itself (train, evaluate, alert)."""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from nutrilearn.celery import app as celery_app

from ..jobs import Job, job_recorded
from ..labelling.models import Label
from ..lifecycle.promotion import model_version_promote
from ..mlflow_store import registry
from ..mlflow_store.registry import CHAMPION
from ..models import Alert, AlertRule, Evaluation
from ..notifications import alert_notify
from ..services import PromotionRefused, model_evaluate_dataset, model_train
from ..training import TrainingConfig
from .dataset import retrain_dataset_build
from .models import RetrainRun
from .triggers import retrain_triggers

logger = logging.getLogger(__name__)

RETRAIN_TASK = "mlops.retraining.tasks.retrain_run"
ALERT_RULE_NAME = "Retrained challenger ready"
LOST_AFTER = timedelta(minutes=15)


def _labels_since(run: RetrainRun | None) -> int:
    rows = Label.objects.all()
    return rows.filter(created_at__gt=run.created_at).count() if run is not None else rows.count()


def retrain_check(*, now: datetime | None = None) -> RetrainRun | None:
    """Start a retraining when a trigger holds, enough labels arrived since the last one and its cooldown is over.

    Returns the new RetrainRun (its task is published after commit), or None with the reason on the job record.
    Recorded as a ``Job.RETRAIN_CHECK`` run only when it started one (or failed).
    """
    now = now or timezone.now()
    _republish_lost(now=now)
    with job_recorded(Job.RETRAIN_CHECK) as record:
        triggers, report = retrain_triggers(now=now)
        # The cooldown counts every retraining, failed ones too (a failure must not repeat at every check);
        # new labels count from the last one that produced a challenger.
        last = RetrainRun.objects.order_by("-created_at", "-id").first()
        new_labels = _labels_since(RetrainRun.objects.filter(status=RetrainRun.Status.SUCCEEDED).order_by("-created_at", "-id").first())
        record.details = {"triggers": [trigger["kind"] for trigger in triggers], "new_labels": new_labels}
        cooldown = timedelta(hours=settings.NUTRILEARN_RETRAIN_COOLDOWN_HOURS)
        reason = ""
        if not triggers:
            reason = "no trigger"
        elif last is not None and last.created_at > now - cooldown:
            reason = f"cooldown: retraining {last.pk} started {last.created_at:%Y-%m-%d %H:%M} UTC"
        elif new_labels < settings.NUTRILEARN_RETRAIN_MIN_NEW_LABELS:
            reason = f"{new_labels} new labels, {settings.NUTRILEARN_RETRAIN_MIN_NEW_LABELS} needed"
        if reason:
            record.details["skipped"] = reason
            record.forget_if_succeeded()
            return None
        with transaction.atomic():
            run = RetrainRun.objects.create(
                triggers=triggers,
                drift_report=report if any(t["kind"] == "drift" for t in triggers) else None,
                base_dataset=settings.NUTRILEARN_RETRAIN_BASE_DATASET or "",
            )
            # A message the broker loses is published again by a later check (``_republish_lost``).
            transaction.on_commit(lambda: _publish(run.pk), robust=True)
        record.items = 1
        record.details["retrain_run_id"] = run.pk
    return run


def _publish(run_id: int) -> None:
    celery_app.send_task(RETRAIN_TASK, kwargs={"run_id": run_id})


def _republish_lost(*, now: datetime) -> None:
    """Publish again the retrainings still pending after LOST_AFTER (their message was lost); the claim makes a duplicate harmless."""
    for run_id in RetrainRun.objects.filter(status=RetrainRun.Status.PENDING, created_at__lt=now - LOST_AFTER).values_list("id", flat=True):
        _publish(run_id)


def retrain_config() -> TrainingConfig:
    """The recipe of a scheduled retraining: ``train``'s defaults within NUTRILEARN_RETRAIN_TIME_BUDGET_MINUTES."""
    return TrainingConfig(time_budget_minutes=settings.NUTRILEARN_RETRAIN_TIME_BUDGET_MINUTES)


def retrain_execute(*, run_id: int, config: TrainingConfig | None = None) -> RetrainRun | None:
    """Run one pending retraining: build its dataset, train and register a challenger, evaluate it and the champion on
    the same held-out photos, open an alert with the comparison; promote only when NUTRILEARN_RETRAIN_AUTO_PROMOTE.

    Claims the run (pending -> running), so a duplicate message does nothing and returns None. A failure marks the
    run failed with the error and is raised again (recorded as a failed ``Job.RETRAIN`` run).
    """
    claimed = RetrainRun.objects.filter(pk=run_id, status=RetrainRun.Status.PENDING).update(
        status=RetrainRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    run = RetrainRun.objects.get(pk=run_id)
    try:
        with job_recorded(Job.RETRAIN, details={"retrain_run_id": run_id}) as record:
            _retrain(run, config or retrain_config())
            record.items = run.image_count
            record.details.update(model_version=run.model_version, alert_id=run.alert_id)
    except BaseException as exc:
        RetrainRun.objects.filter(pk=run_id).update(
            status=RetrainRun.Status.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    return run


def _retrain(run: RetrainRun, config: TrainingConfig) -> None:
    champion = registry.alias_resolve(CHAMPION)
    run.champion_version = champion.version
    base = Path(run.base_dataset) if run.base_dataset else None
    with tempfile.TemporaryDirectory(prefix="retrain-") as folder:
        dataset = retrain_dataset_build(root=Path(folder) / "dataset", base_dataset=base, seed=config.seed)
        run.label_ids = dataset.export.label_ids
        run.image_count = dataset.image_count
        run.images_sha256 = dataset.images_sha256
        run.details = {"classes": dataset.classes, "skipped_classes": dataset.skipped_classes, "label_counts": dataset.export.counts}
        run.save(update_fields=["champion_version", "label_ids", "image_count", "images_sha256", "details"])
        _, ref, training_run_id = model_train(dataset_dir=dataset.root, config=config, progress=False, log=logger.info)
        run.model_version = ref.version
        run.details["training_run_id"] = training_run_id
        run.save(update_fields=["model_version", "details"])
        run.challenger_evaluation = model_evaluate_dataset(dataset_dir=dataset.root, version=ref.version)
        run.champion_evaluation = model_evaluate_dataset(dataset_dir=dataset.root, version=champion.version)
    retrain_conclude(run=run)


def retrain_conclude(*, run: RetrainRun) -> RetrainRun:
    """Finish a retraining whose challenger is registered and evaluated: open its alert, promote it only when
    NUTRILEARN_RETRAIN_AUTO_PROMOTE allows (through ``model_version_promote``: the guardrail, the load check and an
    audit row; a refusal is recorded on the run, not raised), mark it succeeded."""
    run.alert = retrain_alert_open(run=run)
    if settings.NUTRILEARN_RETRAIN_AUTO_PROMOTE:
        try:
            model_version_promote(
                version=run.model_version,
                actor=None,
                actor_name="retraining",
                reason=f"Automatic promotion after retraining run {run.pk} (NUTRILEARN_RETRAIN_AUTO_PROMOTE).",
            )
            run.promoted = True
        except PromotionRefused as exc:
            run.details["promotion_refused"] = str(exc)
    run.status = RetrainRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save()
    return run


def _comparison(challenger: Evaluation, champion: Evaluation) -> str:
    return (
        f"accuracy {challenger.accuracy:.1%} (macro F1 {challenger.f1_score:.3f}) against the champion's (version "
        f"{champion.model_version}) {champion.accuracy:.1%} (macro F1 {champion.f1_score:.3f}) on the same "
        f"{challenger.sample_count} held-out photos"
    )


def retrain_alert_open(*, run: RetrainRun) -> Alert:
    """Open the "Retrained challenger ready" alert for a finished retraining (its rule is created on first use).

    The rule is an event, not a measurement: alert checks never open or resolve it. An earlier open alert of it is
    resolved (superseded), so the open one always names the newest challenger. Notifications go out after commit.
    """
    rule, _ = AlertRule.objects.get_or_create(
        name=ALERT_RULE_NAME,
        defaults={
            "metric": AlertRule.Metric.RETRAINED,
            "operator": AlertRule.Operator.GT,
            "threshold": 0.0,
            "email_to": settings.NUTRILEARN_ALERT_EMAIL_TO or "",
            "webhook_url": settings.NUTRILEARN_ALERT_WEBHOOK_URL or "",
        },
    )
    triggers = "; ".join(trigger["detail"] for trigger in run.triggers) or "started by hand"
    link = f"{reverse('mlops-models')}?version={run.model_version}"
    message = (
        f"Retraining {run.pk} registered version {run.model_version} as challenger: "
        f"{_comparison(run.challenger_evaluation, run.champion_evaluation)}. Triggered by: {triggers}. "
        f"Compare and promote it on the Models page: {link}"
    )
    now = timezone.now()
    with transaction.atomic():
        Alert.objects.filter(rule=rule, status=Alert.Status.OPEN).update(status=Alert.Status.RESOLVED, resolved_at=now)
        alert = Alert.objects.create(
            rule=rule, value=run.challenger_evaluation.accuracy, last_value=run.champion_evaluation.accuracy, message=message
        )
        transaction.on_commit(lambda: alert_notify(alert_id=alert.pk, event="opened"))
    return alert
