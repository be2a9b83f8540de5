"""Alert rules: measure each enabled rule, open one alert while its condition holds, resolve it when it clears, notify.

Lifecycle per rule: condition holds and no alert is open -> open one (the partial unique
constraint ``one_open_alert_per_rule`` makes this idempotent even with two evaluators);
holds while open -> only ``last_value`` is updated; clears while open -> resolved. A
rule with too little data in its window neither opens nor resolves anything.
Notifications (``mlops.notifications``: email at once, webhooks through their own task)
go out after the opening or resolving commit; each delivery is recorded as an AlertDelivery.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import selectors
from .jobs import Job, job_recorded
from .models import Alert, AlertRule, DriftReport
from .notifications import alert_notify

logger = logging.getLogger(__name__)

Metric = AlertRule.Metric

# Default rules: the "unhealthy" service targets of the health report (error rate > 10 %, slow responses > 5 s),
# confidence too low to trust (< 70 %), drift, and a mirror that fell 10 minutes behind. The error rate is that
# of server failures (request_stats): rejected uploads are bad input, not errors.
DEFAULT_RULES = (
    {"name": "High error rate", "metric": Metric.ERROR_RATE, "operator": AlertRule.Operator.GT, "threshold": 10.0},
    {"name": "Slow responses (p95)", "metric": Metric.P95_LATENCY, "operator": AlertRule.Operator.GT, "threshold": 5.0},
    {"name": "Low average confidence", "metric": Metric.AVG_CONFIDENCE, "operator": AlertRule.Operator.LT, "threshold": 0.70},
    {"name": "Drift detected", "metric": Metric.DRIFT, "operator": AlertRule.Operator.GT, "threshold": 0.5},
    {"name": "Mirror backlog", "metric": Metric.MIRROR_BACKLOG_AGE, "operator": AlertRule.Operator.GT, "threshold": 600.0},
)


def alert_rules_ensure_defaults() -> int:
    """Create the default rules that do not exist yet (matched by name); edited rules are left alone. Returns how many were created."""
    created = 0
    for rule in DEFAULT_RULES:
        _, was_created = AlertRule.objects.get_or_create(
            name=rule["name"],
            defaults={
                **rule,
                "window_minutes": 60,
                "email_to": settings.NUTRILEARN_ALERT_EMAIL_TO or "",
                "webhook_url": settings.NUTRILEARN_ALERT_WEBHOOK_URL or "",
            },
        )
        created += was_created
    return created


@dataclass(frozen=True)
class Measurement:
    value: float | None
    samples: int | None  # requests, predictions or reports behind the value; None when not a count
    enough_data: bool
    detail: str = ""


def rule_measure(rule: AlertRule, *, now: datetime) -> Measurement:
    """The rule's metric now. Request and confidence metrics cover the last ``window_minutes``;
    drift is the latest scheduled report; the mirror backlog is its current age."""
    minimum = settings.NUTRILEARN_ALERT_MIN_SAMPLES
    start = now - timedelta(minutes=rule.window_minutes)
    if rule.metric in (Metric.ERROR_RATE, Metric.P95_LATENCY):
        stats = selectors.request_stats(start=start, end=now)
        value = stats[rule.metric]
        total = stats["total_requests"]
        return Measurement(value=value, samples=total, enough_data=total >= minimum and value is not None, detail=f"{total} requests")
    if rule.metric == Metric.AVG_CONFIDENCE:
        summary = selectors.confidence_summary(start=start, end=now)
        count = summary["count"]
        return Measurement(value=summary["mean"], samples=count, enough_data=count >= minimum, detail=f"{count} predictions")
    if rule.metric == Metric.DRIFT:
        report = DriftReport.objects.latest_scheduled()
        if report is None:
            return Measurement(value=None, samples=None, enough_data=False, detail="no drift report yet")
        checks = ", ".join(report.results.get("drifting_checks", [])) or "none"
        return Measurement(
            value=1.0 if report.drift_detected else 0.0,
            samples=None,
            enough_data=report.verdict != "insufficient_data",
            detail=f"drift report {report.pk} ({report.verdict}; drifting checks: {checks})",
        )
    if rule.metric == Metric.MIRROR_BACKLOG_AGE:
        backlog = selectors.mirror_backlog()
        waiting = backlog["count"]
        return Measurement(value=backlog["oldest_age_seconds"], samples=waiting, enough_data=True, detail=f"{waiting} predictions waiting")
    if rule.metric == Metric.RETRAINED:
        # An event rule: retraining opens its alerts (mlops.retraining), people resolve them by promoting or not.
        return Measurement(value=None, samples=None, enough_data=False, detail="opened by retraining, not measured")
    raise ValueError(f"Unknown alert metric {rule.metric!r}")


def rule_breached(rule: AlertRule, value: float) -> bool:
    if rule.operator == AlertRule.Operator.GT:
        return value > rule.threshold
    if rule.operator == AlertRule.Operator.LT:
        return value < rule.threshold
    raise ValueError(f"Unknown alert operator {rule.operator!r}")


def _message(rule: AlertRule, measurement: Measurement) -> str:
    return (
        f"{rule.name}: {rule.get_metric_display()} is {measurement.value:.4g} "
        f"({rule.get_operator_display()} {rule.threshold:g}); {measurement.detail}."
    )


@dataclass(frozen=True)
class RuleOutcome:
    rule_id: int
    action: str  # opened, still_open, resolved, clear, insufficient_data
    value: float | None
    alert_id: int | None = None


def alert_rule_evaluate(rule: AlertRule, *, now: datetime | None = None) -> RuleOutcome:
    """Measure one rule and open, keep or resolve its alert; notifications are sent after commit."""
    now = now or timezone.now()
    measurement = rule_measure(rule, now=now)
    if not measurement.enough_data or measurement.value is None:
        return RuleOutcome(rule.pk, "insufficient_data", measurement.value)
    value = float(measurement.value)
    open_alert = Alert.objects.filter(rule=rule, status=Alert.Status.OPEN).first()
    if rule_breached(rule, value):
        if open_alert is not None:
            Alert.objects.filter(pk=open_alert.pk).update(last_value=value)
            return RuleOutcome(rule.pk, "still_open", value, open_alert.pk)
        try:
            with transaction.atomic():
                alert = Alert.objects.create(rule=rule, value=value, last_value=value, message=_message(rule, measurement))
        except IntegrityError:
            # Another evaluator opened it between our read and our insert.
            Alert.objects.filter(rule=rule, status=Alert.Status.OPEN).update(last_value=value)
            return RuleOutcome(rule.pk, "still_open", value)
        transaction.on_commit(lambda: alert_notify(alert_id=alert.pk, event="opened"))
        return RuleOutcome(rule.pk, "opened", value, alert.pk)
    if open_alert is None:
        return RuleOutcome(rule.pk, "clear", value)
    resolved = Alert.objects.filter(pk=open_alert.pk, status=Alert.Status.OPEN).update(
        status=Alert.Status.RESOLVED, resolved_at=now, last_value=value
    )
    if not resolved:
        return RuleOutcome(rule.pk, "clear", value)
    transaction.on_commit(lambda: alert_notify(alert_id=open_alert.pk, event="resolved"))
    return RuleOutcome(rule.pk, "resolved", value, open_alert.pk)


def alerts_evaluate(*, now: datetime | None = None) -> list[RuleOutcome]:
    """Evaluate every enabled rule once; safe to run concurrently and repeatedly."""
    now = now or timezone.now()
    return [alert_rule_evaluate(rule, now=now) for rule in AlertRule.objects.filter(enabled=True).order_by("pk")]


def alerts_evaluate_job() -> dict[str, int]:
    """The periodic evaluation: counts of outcomes by action. Recorded as a ``Job.ALERTS_EVALUATE`` run when it opened or
    resolved an alert, or failed (raised again); a run that changed nothing leaves no record."""
    with job_recorded(Job.ALERTS_EVALUATE) as record:
        outcomes = alerts_evaluate()
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.action] = counts.get(outcome.action, 0) + 1
        changed = [outcome for outcome in outcomes if outcome.action in ("opened", "resolved")]
        record.items = len(changed)
        changes = [{"rule_id": outcome.rule_id, "alert_id": outcome.alert_id, "action": outcome.action} for outcome in changed]
        record.details = {"outcomes": counts, "changed": changes}
        if not changed:
            record.forget_if_succeeded()
    return counts


class AlertAcknowledgeRefused(Exception):
    """The alert cannot be acknowledged (it is resolved, or already acknowledged)."""


def alert_acknowledge(*, alert: Alert, user) -> Alert:
    """Record that ``user`` has taken the open alert on (who and when); the first acknowledgement stands.

    A conditional UPDATE, so two people acknowledging at once leave one name. Raises
    AlertAcknowledgeRefused for a resolved or already acknowledged alert.
    """
    now = timezone.now()
    updated = Alert.objects.filter(pk=alert.pk, status=Alert.Status.OPEN, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=user
    )
    alert.refresh_from_db()
    if not updated:
        if alert.status != Alert.Status.OPEN:
            raise AlertAcknowledgeRefused(f"Alert {alert.pk} ({alert.rule.name}) is resolved: there is nothing to acknowledge.")
        who = alert.acknowledged_by.get_username() if alert.acknowledged_by else "someone"
        raise AlertAcknowledgeRefused(f"Alert {alert.pk} was already acknowledged by {who} at {alert.acknowledged_at:%Y-%m-%d %H:%M} UTC.")
    return alert
