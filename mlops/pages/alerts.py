"""The Alerts page: open alerts first, then those resolved in the window, with their rule, values, duration and deliveries."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from ..models import Alert, AlertDelivery, AlertRule
from .filters import FilterInvalid, PageFilters

STATUSES = {"open": "open", "resolved": "resolved"}


def _duration(alert: Alert, now) -> str:
    seconds = int(((alert.resolved_at or now) - alert.opened_at).total_seconds())
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days {seconds % 86400 // 3600} h"


def alerts_context(filters: PageFilters, *, status: str | None) -> dict:
    """Every open alert (whatever its age) and the alerts opened in the window, newest first, with their deliveries."""
    if status and status not in STATUSES:
        raise FilterInvalid(f"status must be open or resolved, not {status!r}.")
    alerts = Alert.objects.filter(Q(status=Alert.Status.OPEN) | Q(opened_at__gte=filters.start, opened_at__lt=filters.end))
    if status:
        alerts = alerts.filter(status=status)
    alerts = (
        alerts.select_related("rule", "acknowledged_by")
        .prefetch_related(Prefetch("deliveries", queryset=AlertDelivery.objects.order_by("-created_at")))
        .order_by("status", "-opened_at")[:200]
    )
    now = timezone.now()
    rows = [{"alert": alert, "duration": _duration(alert, now), "deliveries": list(alert.deliveries.all())} for alert in alerts]
    rules = AlertRule.objects.annotate(open_count=Count("alerts", filter=Q(alerts__status=Alert.Status.OPEN))).order_by("name")
    return {
        "rows": rows,
        "open_count": sum(1 for row in rows if row["alert"].status == Alert.Status.OPEN),
        "status": status or "",
        "rules": list(rules),
    }
