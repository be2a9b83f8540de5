"""Prediction traffic, confidence, performance, drift and health of the served model, and metric history: from the database."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.viewsets import ViewSet

from .. import selectors
from ..drift_reports import drift_report_compute
from ..health import system_health
from ..serializers import (
    ConfidenceQuery,
    DataEnvelope,
    DriftQuery,
    HealthQuery,
    MetricHistoryEnvelope,
    MetricHistoryQuery,
    MetricsEnvelope,
    PerformanceQuery,
    WindowQuery,
)
from ..throttling import drift_compute_allow
from .base import TAG, query_validate, success, window
from .errors import COMMON_ERRORS, DRIFT_ERRORS


class MetricViewSet(ViewSet):
    """The prediction overview (``metrics``) and the history of one metric (``metrics/history``)."""

    @extend_schema(
        tags=TAG,
        operation_id="mlops_metrics_retrieve",
        parameters=[WindowQuery],
        responses={200: MetricsEnvelope, **COMMON_ERRORS},
        summary="Prediction overview",
    )
    def list(self, request):
        """The prediction overview: counts, confidence, top foods and predictions by day."""
        values = query_validate(request)
        metrics = selectors.metrics_overview(**window(values))
        return success(metrics={**metrics, "timestamp": timezone.now()})

    @extend_schema(
        tags=TAG, parameters=[MetricHistoryQuery], responses={200: MetricHistoryEnvelope, **COMMON_ERRORS}, summary="History of one metric"
    )
    @action(detail=False)
    def history(self, request):
        """The last ``limit`` points of one metric (per prediction or per evaluation), oldest first."""
        values = query_validate(request, MetricHistoryQuery)
        points = selectors.metric_history(metric_name=values["metric_name"], limit=values["limit"], **window(values))
        return success(metric_name=values["metric_name"], data=points, total_points=len(points))


class MonitoringViewSet(ViewSet):
    """The served model in a time window: ``monitoring/predictions``, ``confidence``, ``performance``, ``drift``, ``health``."""

    @extend_schema(
        tags=TAG,
        parameters=[WindowQuery],
        responses={200: DataEnvelope, **COMMON_ERRORS},
        summary="Prediction statistics by food, day and user",
    )
    @action(detail=False)
    def predictions(self, request):
        """Prediction counts by food, day and user."""
        values = query_validate(request)
        return success(data=selectors.prediction_statistics(**window(values)))

    @extend_schema(tags=TAG, parameters=[ConfidenceQuery], responses={200: DataEnvelope, **COMMON_ERRORS}, summary="Confidence histogram")
    @action(detail=False)
    def confidence(self, request):
        """The histogram of the served model's confidence."""
        values = query_validate(request, ConfidenceQuery)
        return success(data=selectors.confidence_histogram(bins=values["bins"], **window(values)))

    @extend_schema(
        tags=TAG,
        parameters=[PerformanceQuery],
        responses={200: DataEnvelope, **COMMON_ERRORS},
        summary="Accuracy, precision, recall, F1 from evaluations and feedback; calibration and label-free accuracy",
    )
    @action(detail=False)
    def performance(self, request):
        """Accuracy, precision, recall and F1 from evaluations and feedback, with calibration and the label-free estimate."""
        values = query_validate(request, PerformanceQuery)
        return success(data=selectors.performance_report(bins=values["bins"], **window(values)))

    @extend_schema(tags=TAG, parameters=[DriftQuery], responses={200: DataEnvelope, **DRIFT_ERRORS}, summary="Drift of the recent window")
    @action(detail=False)
    def drift(self, request):
        """The drift summary of the compatibility contract, over a stored drift report.

        A stored report is reused when one covers nearly the same windows, else one is computed now.

        Computing reads the food counts of both windows and a sample of their rows (seconds at
        a million rows); the periodic drift task keeps a current report for the default windows.
        A report computed here is stored but not logged to MLflow: only the periodic task, on the
        mlflow queue, writes drift runs (one writer for a SQLite store, no web request waiting on MLflow).
        Each user may have NUTRILEARN_DRIFT_COMPUTE_RATE reports computed here (mlops/throttling.py); answers
        from a stored report are not counted.
        """
        values = query_validate(request, DriftQuery)
        recent_end = values["end"] or timezone.now()
        recent_start = recent_end - timedelta(days=values["window_days"])
        # The baseline is as many times longer than the recent window as in the scheduled report (28 / 7 days by default).
        baseline_days = values.get("baseline_days") or (
            values["window_days"] * settings.NUTRILEARN_DRIFT_BASELINE_DAYS / settings.NUTRILEARN_DRIFT_RECENT_DAYS
        )
        baseline_start = recent_start - timedelta(days=baseline_days)
        if values["start"] is not None:
            baseline_start = max(baseline_start, values["start"])
        if baseline_start >= recent_start:
            raise ValidationError({"start": "start leaves no baseline window before the recent window."})
        windows = {"baseline_start": baseline_start, "recent_start": recent_start, "recent_end": recent_end}
        # A stored report is current enough when its windows end within 1/24 of the window length
        # of now (an hour per day: the scheduled 7-day report serves for 7 hours).
        report = selectors.drift_report_find(
            **windows,
            model_version=values["model_version"],
            threshold=values["threshold"],
            tolerance=timedelta(hours=values["window_days"]),
        )
        if report is None:
            drift_compute_allow(request=request, view=self)
            report = drift_report_compute(
                **windows, baseline_end=recent_start, model_version=values["model_version"], threshold=values["threshold"]
            )
        results = report.results
        data = {
            **results,
            "drift_detected": report.drift_detected,
            "drift_score": report.drift_score,
            "threshold": results.get("threshold", values["threshold"]),
            "window_days": values["window_days"],
            "baseline_days": baseline_days,
            "report_id": report.pk,
            "computed_at": report.created_at,
            "mlflow_run_id": report.mlflow_run_id,
        }
        if not results.get("reason"):
            data.pop("reason", None)
        return success(data=data)

    @extend_schema(
        tags=TAG,
        parameters=[HealthQuery],
        responses={200: DataEnvelope, **COMMON_ERRORS},
        summary="System health from the request log, with worker, broker, MLflow and mirror state",
    )
    @action(detail=False)
    def health(self, request):
        """System health from the request log, with the state of the worker, broker, MLflow and mirror."""
        values = query_validate(request, HealthQuery)
        end = values["end"] or timezone.now()
        start = values["start"] or end - timedelta(minutes=values["window_minutes"])
        report = system_health(start=start, end=end, model_version=values["model_version"])
        report.update(timestamp=timezone.now(), window={"start": start, "end": end})
        return success(data=report)
