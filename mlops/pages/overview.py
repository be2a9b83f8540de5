"""The Overview page: the state of the system in five seconds, with every figure against the previous period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from .. import charts, health, percentiles, rollups, selectors
from ..models import Alert, DriftReport
from .cards import HIGHER_IS_BETTER, LOWER_IS_BETTER, NEUTRAL, card_compare, card_now
from .drift import check_label
from .figures import figure_slot
from .filters import PageFilters

COMPONENTS_CACHE_SECONDS = 30
HOURLY_UP_TO = timedelta(days=2)
CONFIDENCE_BINS = 10


PREVIOUS_CACHE_SECONDS = 300


def _period_figures(window: dict) -> dict:
    return {
        "overview": selectors.metrics_overview(**window),
        "requests": selectors.request_stats(**window, percentiles=(50, 95)),
        "labels": selectors.feedback_predictions(**window).count(),
    }


def _previous_period_figures(filters: PageFilters) -> dict:
    """The figures of the period before the window, its ends rounded down to the minute and cached for a few minutes.

    That period is over, so its figures change only as "the last N days" slides: a comparison may lag by up to a minute
    of traffic at its edges, and the Overview costs one period's queries instead of two.
    """
    window = filters.previous_window()
    window["start"] = window["start"].replace(second=0, microsecond=0)
    window["end"] = window["end"].replace(second=0, microsecond=0)
    key = f"mlops-pages:previous:{window['model_version'] or ''}:{window['start'].isoformat()}:{window['end'].isoformat()}"
    figures = cache.get(key)
    if figures is None:
        figures = _period_figures(window)
        cache.set(key, figures, PREVIOUS_CACHE_SECONDS)
    return figures


def component_states() -> dict:
    """Worker, broker, MLflow store and mirror state, cached for a few seconds so that an auto-refresh does not ping each time."""
    states = cache.get("mlops-pages:components")
    if states is None:
        states = {
            "worker": health.worker_state(),
            "broker": health.broker_state(),
            "mlflow": health.tracking_state(),
            "mirror": health.mirror_state(),
        }
        cache.set("mlops-pages:components", states, COMPONENTS_CACHE_SECONDS)
    return states


def _periods(start: datetime, end: datetime) -> list[tuple[datetime, datetime, bool]]:
    """Hours for windows up to two days, UTC days beyond: (start, end, whole) where ``whole`` is a full hour or day."""
    step = timedelta(hours=1) if end - start <= HOURLY_UP_TO else timedelta(days=1)
    if step == timedelta(days=1):
        cursor = start.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        cursor = start.replace(minute=0, second=0, microsecond=0)
    periods = []
    while cursor < end:
        whole = cursor >= start and cursor + step <= end
        periods.append((max(cursor, start), min(cursor + step, end), whole))
        cursor += step
    return periods


def latency_by_period(*, start: datetime, end: datetime, model_version: str | None, now: datetime | None = None) -> list[dict]:
    """p50 and p95 request latency (histogram percentiles, ``mlops.percentiles``: the API's) per hour or UTC day of [start, end).

    Days come from the daily latency histograms in one read. Whole hours that are over are
    cached (their rows no longer change); the partial hours at the window's ends are measured on every call.
    """
    now = now or timezone.now()
    periods = _periods(start, end)
    if end - start > HOURLY_UP_TO:
        by_day = rollups.latency_histograms_by_day(start=start, end=end, model_version=model_version)
        return [_latency_point(start, by_day.get(start.astimezone(UTC).date().isoformat(), {})) for start, _, _ in periods]
    points = []
    for period_start, period_end, whole in periods:
        cacheable = whole and period_end <= now
        key = f"mlops-pages:latency:{model_version or ''}:{period_start.isoformat()}:{period_end.isoformat()}"
        point = cache.get(key) if cacheable else None
        if point is None:
            histogram = rollups.live_latency_histogram(start=period_start, end=period_end, model_version=model_version)
            point = _latency_point(period_start, histogram)
            if cacheable:
                cache.set(key, point, 24 * 3600)
        points.append(point)
    return points


def _latency_point(period_start: datetime, histogram: dict[int, int]) -> dict:
    return {
        "at": period_start.isoformat(),
        "count": sum(histogram.values()),
        "p50": percentiles.histogram_percentile(histogram, 0.5),
        "p95": percentiles.histogram_percentile(histogram, 0.95),
    }


def _backlog_level(backlog: dict) -> str:
    if backlog["oldest_age_seconds"] > 600:
        return "low"
    if backlog["oldest_age_seconds"] > 120:
        return "acceptable"
    return "good"


def overview_context(filters: PageFilters) -> dict:
    """Cards, health, open alerts, the latest drift verdict and the traffic charts of the filtered window."""
    current = _period_figures(filters.window())
    previous = _previous_period_figures(filters)
    now_overview, before_overview = current["overview"]["overview"], previous["overview"]["overview"]
    now_requests, before_requests = current["requests"], previous["requests"]
    period = f"{filters.length.days} days" if filters.length >= timedelta(days=2) else "period"
    backlog = selectors.mirror_backlog()
    confidence = now_overview["avg_confidence"]
    cards = [
        card_compare(
            "predictions",
            "Predictions",
            now_overview["total_predictions"],
            before_overview["total_predictions"],
            kind="count",
            better=NEUTRAL,
            period=period,
        ),
        card_compare(
            "confidence",
            "Average confidence",
            confidence,
            before_overview["avg_confidence"],
            kind="percent",
            better=HIGHER_IS_BETTER,
            period=period,
            level=charts.band_of(confidence) if confidence is not None else "",
        ),
        card_compare(
            "users",
            "Unique users",
            now_overview["unique_users"],
            before_overview["unique_users"],
            kind="count",
            better=NEUTRAL,
            period=period,
        ),
        card_compare(
            "foods",
            "Unique foods",
            now_overview["unique_foods"],
            before_overview["unique_foods"],
            kind="count",
            better=NEUTRAL,
            period=period,
        ),
        card_compare(
            "errors",
            "Error rate (server failures)",
            now_requests["error_rate_percent"],
            before_requests["error_rate_percent"],
            kind="rate",
            better=LOWER_IS_BETTER,
            period=period,
            detail=f"{now_requests['server_error_count']:,} of {now_requests['total_requests']:,} requests failed",
            level=_rate_level(now_requests["error_rate_percent"]),
        ),
        card_compare(
            "client-errors",
            "Bad input rate (rejected uploads)",
            now_requests["client_error_rate_percent"],
            before_requests["client_error_rate_percent"],
            kind="rate",
            better=LOWER_IS_BETTER,
            period=period,
            detail=f"{now_requests['client_error_count']:,} uploads refused",
        ),
        card_compare(
            "p95",
            "p95 latency",
            now_requests["p95_response_time_seconds"],
            before_requests["p95_response_time_seconds"],
            kind="seconds",
            better=LOWER_IS_BETTER,
            period=period,
            detail=f"p50 {_ms(now_requests['p50_response_time_seconds'])}, average {_ms(now_requests['avg_response_time_seconds'])}",
        ),
        card_now(
            "backlog",
            "Mirror backlog",
            backlog["count"],
            kind="count",
            level=_backlog_level(backlog),
            detail=f"oldest waiting {backlog['oldest_age_seconds']:.0f} s; {backlog['given_up_count']:,} given up",
        ),
        card_compare(
            "labels",
            "Labels (feedback answers)",
            current["labels"],
            previous["labels"],
            kind="count",
            better=HIGHER_IS_BETTER,
            period=period,
        ),
    ]
    components = component_states()
    status = health.health_status(
        total_requests=now_requests["total_requests"],
        avg_response_time_seconds=now_requests["avg_response_time_seconds"],
        error_rate_percent=now_requests["error_rate_percent"],
    )
    # The histogram's bins as the API's (sums of the rollup's 0.01-wide bins), without its median: the page does not show it.
    fine = rollups.confidence_fine_bins(**filters.window())
    width = rollups.FINE_BINS // CONFIDENCE_BINS
    counts = [sum(fine[index * width : (index + 1) * width]) for index in range(CONFIDENCE_BINS)]
    labels = [f"{index / CONFIDENCE_BINS:.2f}-{(index + 1) / CONFIDENCE_BINS:.2f}" for index in range(CONFIDENCE_BINS)]
    drift = DriftReport.objects.latest_scheduled()
    return {
        "cards": cards,
        "health": {
            "status": status,
            "reasons": _health_reasons(status, now_requests),
            "components": components,
            "recommendations": health.health_recommendations(now_requests, components),
        },
        "open_alerts": list(Alert.objects.filter(status=Alert.Status.OPEN).select_related("rule").order_by("-opened_at")),
        "drift": drift,
        "drifting": [check_label(name) for name in drift.results.get("drifting_checks", [])] if drift else [],
        "charts": [
            figure_slot(
                "per-day",
                charts.predictions_per_day(current["overview"]["predictions_by_day"]),
                "No predictions in this window: the chart fills as photos are recognised.",
            ),
            figure_slot(
                "latency",
                charts.latency_over_time(latency_by_period(**filters.window())),
                "No requests in this window: latency appears with the first upload.",
            ),
            figure_slot(
                "confidence",
                charts.confidence_histogram(labels, counts),
                "No successful predictions in this window: no confidence to show.",
            ),
            figure_slot("foods", charts.top_foods(current["overview"]["top_foods_ranked"]), "No foods recognised in this window yet."),
        ],
    }


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.0f} ms"


def _rate_level(percent: float) -> str:
    if percent > health.UNHEALTHY_ERROR_RATE_PERCENT:
        return "low"
    if percent > health.DEGRADED_ERROR_RATE_PERCENT:
        return "acceptable"
    return "good"


def _health_reasons(status: str, requests: dict) -> list[str]:
    """Why the status is what it is, in the original design's thresholds."""
    if status == "unknown":
        return ["No requests in this window: nothing to judge."]
    average = requests["avg_response_time_seconds"] or 0.0
    error_rate = requests["error_rate_percent"]
    return [
        f"Average response time {average:.2f} s (healthy below {health.DEGRADED_AVG_SECONDS:.0f} s, "
        f"unhealthy above {health.UNHEALTHY_AVG_SECONDS:.0f} s).",
        f"Server failures {error_rate:.2f} % of {requests['total_requests']:,} requests (healthy up to "
        f"{health.DEGRADED_ERROR_RATE_PERCENT:.0f} %, unhealthy above {health.UNHEALTHY_ERROR_RATE_PERCENT:.0f} %).",
    ]
