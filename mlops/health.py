"""Liveness and readiness of this process, and the health report of the whole system."""

import logging
from datetime import datetime, timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

from predictions.serving import holder

logger = logging.getLogger(__name__)


def database_ready() -> tuple[bool, str]:
    """Whether the database answers; the detail is safe to show anyone (the error itself goes to the log)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.warning("readiness: database unreachable: %s", exc)
        return False, "database unreachable"
    return True, "ok"


def model_ready() -> tuple[bool, str]:
    """Ready once a model serves (the champion, or the bundled fallback); the detail names the version, never an error text.

    Loading it here is what warms a fresh process; not ready only when nothing can serve. Reasons go to the log.
    """
    from predictions.inference import ModelUnavailable

    try:
        model = holder.get()
    except ModelUnavailable as exc:
        logger.warning("readiness: no model can serve: %s", exc)
        return False, "no model can serve"
    detail = f"{model.name} version {model.version}"
    if holder.fallback_reason:
        logger.warning("readiness: serving the bundled fallback model: %s", holder.fallback_reason)
        detail += " (bundled fallback: the registry's champion could not be served)"
    return True, detail


# The service targets the health status is judged against (and the default alert rules fire on):
# average response time < 2 s (unhealthy above 5 s), error rate < 5 % (unhealthy above 10 %).
# Errors are server failures: rejected uploads are bad input from clients and never make the
# system unhealthy.
DEGRADED_AVG_SECONDS = 2.0
UNHEALTHY_AVG_SECONDS = 5.0
DEGRADED_ERROR_RATE_PERCENT = 5.0
UNHEALTHY_ERROR_RATE_PERCENT = 10.0
WORKER_STALE_AFTER = timedelta(minutes=15)


def health_status(*, total_requests: int, avg_response_time_seconds: float | None, error_rate_percent: float) -> str:
    """healthy / degraded / unhealthy against the service targets above; unknown without requests.

    ``error_rate_percent`` is the share of requests that failed on the server (not rejected uploads).
    """
    if not total_requests:
        return "unknown"
    average = avg_response_time_seconds or 0.0
    if average > UNHEALTHY_AVG_SECONDS or error_rate_percent > UNHEALTHY_ERROR_RATE_PERCENT:
        return "unhealthy"
    if average > DEGRADED_AVG_SECONDS or error_rate_percent > DEGRADED_ERROR_RATE_PERCENT:
        return "degraded"
    return "healthy"


def health_recommendations(stats: dict, components: dict) -> list[str]:
    advice = []
    average = stats["avg_response_time_seconds"] or 0.0
    if average > DEGRADED_AVG_SECONDS:
        advice.append(
            f"Average response time is {average:.2f} s (target < {DEGRADED_AVG_SECONDS:.0f} s): "
            "check CPU load and torch threads per process."
        )
    if stats["server_error_count"]:
        advice.append(f"{stats['server_error_count']} requests failed on the server side: see the failed predictions in admin.")
    if stats["client_error_rate_percent"] > DEGRADED_ERROR_RATE_PERCENT:
        advice.append(f"{stats['client_error_rate_percent']:.1f} % of requests were rejected uploads (bad input): check what clients send.")
    for name, state in components.items():
        if not state["ok"]:
            advice.append(f"{name}: {state['detail']}")
    if not stats["total_requests"]:
        advice.append("No requests in the window: nothing to judge yet.")
    return advice


def broker_state() -> dict:
    """Whether the Celery broker accepts a connection (short timeout)."""
    from kombu.exceptions import OperationalError

    from nutrilearn.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=1)
    except (OperationalError, OSError) as exc:
        return {"ok": False, "detail": f"broker unreachable: {exc}"}
    return {"ok": True, "detail": app.conf.broker_url.split("://", 1)[0]}


def worker_state() -> dict:
    """The worker is taken as alive when a background job started recently.

    The rollups refresh records a run every NUTRILEARN_ROLLUP_SECONDS (5 minutes by default).
    """
    from .models import JobRun

    latest = JobRun.objects.order_by("-started_at").values("name", "status", "started_at").first()
    if latest is None:
        return {"ok": False, "detail": "no background job has run yet", "last_job": None}
    age = (timezone.now() - latest["started_at"]).total_seconds()
    ok = age <= WORKER_STALE_AFTER.total_seconds()
    detail = f"last job {latest['name']} ({latest['status']}) {age:.0f} s ago"
    if not ok:
        detail = f"no background job for {age:.0f} s: is a worker and the beat scheduler running? ({detail})"
    return {"ok": ok, "detail": detail, "last_job": {**latest, "age_seconds": age}}


def tracking_state() -> dict:
    """Whether the MLflow store answers."""
    from .mlflow_store import MlflowUnavailable, ping

    try:
        ping()
    except MlflowUnavailable as exc:
        return {"ok": False, "detail": f"MLflow store unreachable: {exc}"}
    return {"ok": True, "detail": "MLflow store answers"}


def mirror_state(*, stale_after_seconds: float = 900) -> dict:
    """The mirror backlog: unmirrored predictions and the age of the oldest; stale past ``stale_after_seconds``."""
    from .selectors import mirror_backlog

    backlog = mirror_backlog()
    ok = backlog["oldest_age_seconds"] <= stale_after_seconds
    detail = f"{backlog['count']} predictions waiting, oldest {backlog['oldest_age_seconds']:.0f} s"
    return {"ok": ok, "detail": detail if ok else f"mirror is behind: {detail}", **backlog}


def system_health(*, start: datetime, end: datetime, model_version: str | None = None, components: bool = True) -> dict:
    """Request statistics of the window with a status against the service targets, the state of each component and advice."""
    from .selectors import request_stats

    stats = request_stats(start=start, end=end, model_version=model_version)
    states = {}
    if components:
        states = {"worker": worker_state(), "broker": broker_state(), "mlflow": tracking_state(), "mirror": mirror_state()}
    return {
        "status": health_status(
            total_requests=stats["total_requests"],
            avg_response_time_seconds=stats["avg_response_time_seconds"],
            error_rate_percent=stats["error_rate_percent"],
        ),
        "metrics": stats,
        "components": states,
        "recommendations": health_recommendations(stats, states),
    }
