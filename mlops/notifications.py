"""Alert notifications: email is sent at once, a webhook is delivered by its own Celery task with retries and backoff.

Every delivery is one ``AlertDelivery`` row: created when the notification is sent or
queued, then updated by each attempt (``attempts``, ``error``, ``delivered``), so a
delivery still waiting for a retry is visible in admin. A slow or failing webhook
receiver therefore never delays alert evaluation.
"""

from __future__ import annotations

import logging
import smtplib

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone

from .models import Alert, AlertDelivery

logger = logging.getLogger(__name__)

# The task that delivers a webhook, enqueued by name: mlops.tasks imports this module.
WEBHOOK_TASK = "mlops.tasks.alert_webhook_deliver"


class WebhookRetryable(Exception):
    """A webhook attempt failed in a way that may pass: no answer, a server error, 408 or 429."""


def alert_payload(alert: Alert, *, event: str) -> dict:
    rule = alert.rule
    return {
        "event": event,
        "alert": {
            "id": alert.pk,
            "status": alert.status,
            "opened_at": alert.opened_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "value": alert.value,
            "last_value": alert.last_value,
            "message": alert.message,
        },
        "rule": {
            "id": rule.pk,
            "name": rule.name,
            "metric": rule.metric,
            "operator": rule.operator,
            "threshold": rule.threshold,
            "window_minutes": rule.window_minutes,
        },
        "sent_at": timezone.now().isoformat(),
    }


def alert_notify(*, alert_id: int, event: str) -> list[AlertDelivery]:
    """Send the alert's ``event`` (opened / resolved) to the rule's email addresses and queue its webhook delivery.

    A deleted alert is skipped. Failures are recorded on the deliveries, not raised.
    """
    alert = Alert.objects.select_related("rule").filter(pk=alert_id).first()
    if alert is None:
        logger.info("Alert %s is gone; nothing to notify", alert_id)
        return []
    deliveries = []
    if alert.rule.email_to.strip():
        deliveries.append(_deliver_email(alert, event=event))
    if alert.rule.webhook_url:
        deliveries.append(webhook_delivery_queue(alert, event=event))
    return deliveries


def _deliver_email(alert: Alert, *, event: str) -> AlertDelivery:
    recipients = [address.strip() for address in alert.rule.email_to.split(",") if address.strip()]
    state = "OPEN" if event == "opened" else "RESOLVED"
    subject = f"[NutriLearn] {state}: {alert.rule.name}"
    body = alert.message if event == "opened" else f"Resolved: {alert.rule.name} (last value {alert.last_value:.4g})."
    delivery = AlertDelivery(alert=alert, event=event, channel=AlertDelivery.Channel.EMAIL, target=", ".join(recipients), attempts=1)
    try:
        send_mail(subject, body, None, recipients, fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("Alert %s email to %s failed: %s", alert.pk, delivery.target, exc)
        delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
    else:
        delivery.delivered = True
    delivery.save()
    return delivery


def webhook_delivery_queue(alert: Alert, *, event: str) -> AlertDelivery:
    """Record a webhook delivery of the alert's ``event`` to the rule's URL and hand it to a worker.

    A broker that does not take the task is recorded on the delivery (it is not raised into alert evaluation).
    """
    from nutrilearn.celery import app

    delivery = AlertDelivery.objects.create(alert=alert, event=event, channel=AlertDelivery.Channel.WEBHOOK, target=alert.rule.webhook_url)
    try:
        app.signature(WEBHOOK_TASK, kwargs={"delivery_id": delivery.pk}).apply_async()
    except _broker_errors(app) as exc:
        logger.error("Alert %s webhook delivery %s could not be queued: %s", alert.pk, delivery.pk, exc)
        delivery.error = f"not queued, the broker refused it: {type(exc).__name__}: {exc}"[:2000]
        AlertDelivery.objects.filter(pk=delivery.pk).update(error=delivery.error)
    return delivery


def _broker_errors(app) -> tuple[type[BaseException], ...]:
    """Errors that mean "the broker is unreachable": kombu's, the transport's own (redis-py's), socket errors."""
    from kombu.exceptions import OperationalError

    connection = app.connection_for_write()
    return (OperationalError, OSError, *connection.connection_errors, *connection.channel_errors)


def _worth_retrying(status_code: int) -> bool:
    """Server errors, timeouts and rate limits may pass; other client errors will not change on a retry."""
    return status_code >= 500 or status_code in (408, 429)


def webhook_attempt(*, delivery_id: int, last_attempt: bool) -> bool:
    """POST the delivery's alert to its URL once and record the attempt; returns whether it is delivered.

    Raises WebhookRetryable when the attempt failed in a way that may pass and this is not
    the ``last_attempt``. A delivery already made, or gone with its alert, is not sent again.
    """
    delivery = (
        AlertDelivery.objects.select_related("alert__rule").filter(pk=delivery_id, channel=AlertDelivery.Channel.WEBHOOK).first()
    )
    if delivery is None:
        logger.info("Webhook delivery %s is gone (its alert was deleted); nothing to send", delivery_id)
        return False
    if delivery.delivered:
        return True
    payload = alert_payload(delivery.alert, event=delivery.event)
    retryable = False
    try:
        response = requests.post(delivery.target, json=payload, timeout=settings.NUTRILEARN_WEBHOOK_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        error, retryable = f"{type(exc).__name__}: {exc}"[:2000], True
    else:
        error = "" if response.ok else f"HTTP {response.status_code}: {response.text[:500]}"
        retryable = not response.ok and _worth_retrying(response.status_code)
    delivered = not error
    AlertDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1, delivered=delivered, error=error)
    if delivered:
        return True
    if retryable and not last_attempt:
        raise WebhookRetryable(error)
    attempts = delivery.attempts + 1
    logger.warning("Alert %s webhook to %s failed after %d attempts: %s", delivery.alert_id, delivery.target, attempts, error)
    return False
