"""The ops dashboard: reads stored results and SQL aggregates, never loops over MLflow runs."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone

from predictions.serving import holder

from . import charts, selectors
from .health import health_status
from .models import Alert, DriftReport, JobRun, ModelEvent

HEALTH_LEVELS = {"healthy": "good", "degraded": "acceptable", "unhealthy": "low", "unknown": "unknown"}


def dashboard_context(*, days: int, model_version: str | None) -> dict:
    """Everything the dashboard page shows for the last ``days`` days."""
    end = timezone.now()
    start = end - timedelta(days=days)
    statistics = selectors.prediction_statistics(start=start, end=end, model_version=model_version)
    histogram = selectors.confidence_histogram(start=start, end=end, model_version=model_version)
    requests = selectors.request_stats(start=start, end=end, model_version=model_version)
    performance = selectors.performance_report(start=start, end=end, model_version=model_version)
    calibration = performance["calibration"]
    served = holder.loaded()
    figures = {
        "per_day": charts.predictions_per_day(statistics["by_day"]),
        "confidence": charts.confidence_histogram(histogram["bins"], histogram["counts"]),
        "foods": charts.top_foods(statistics["by_food"]),
    }
    if performance["history"]:
        figures["evaluations"] = charts.accuracy_history(performance["history"])
    calibrated = [entry for entry in calibration if entry["label_count"]]
    if calibrated:
        figures["calibration"] = charts.reliability_diagram([row for row in calibrated[-1]["reliability"] if row["count"]])
    return {
        "days": days,
        "model_version": model_version or "",
        "statistics": statistics,
        "confidence": histogram["statistics"],
        "requests": requests,
        "health": health_status(
            total_requests=requests["total_requests"],
            avg_response_time_seconds=requests["avg_response_time_seconds"],
            error_rate_percent=requests["error_rate_percent"],
        ),
        "backlog": selectors.mirror_backlog(),
        "served": served,
        "performance": performance,
        "calibration": calibration,
        "drift": DriftReport.objects.latest_scheduled(),
        "open_alerts": list(Alert.objects.filter(status=Alert.Status.OPEN).select_related("rule")),
        "model_events": list(ModelEvent.objects.order_by("-created_at")[:8]),
        "failed_jobs": list(JobRun.objects.filter(status=JobRun.Status.FAILED).order_by("-started_at")[:5]),
        "figures": {name: json.loads(figure.to_json()) for name, figure in figures.items()},
    }
