"""The monitoring JSON API under /api/v1/mlops/: the original design's endpoints, staff only.

Views validate the query, call one selector or service and wrap the result in the
{"status": "success", ...} envelope. Errors use the project's error envelope: bad
parameters are 400 with the reason, an unreachable MLflow store is 503.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from predictions.serializers import ErrorEnvelope

from . import selectors, tracking
from .health import system_health
from .models import Evaluation
from .serializers import (
    ConfidenceQuery,
    DataEnvelope,
    DriftQuery,
    ExperimentsEnvelope,
    HealthQuery,
    MetricHistoryEnvelope,
    MetricHistoryQuery,
    MetricsEnvelope,
    ModelVersionsEnvelope,
    PerformanceQuery,
    RegisterModelEnvelope,
    RegisterModelRequest,
    RunsEnvelope,
    RunsQuery,
    WindowQuery,
)

TAG = ["mlops"]
COMMON_ERRORS = {
    400: OpenApiResponse(ErrorEnvelope, description="A parameter is invalid; the message says which and why."),
    401: OpenApiResponse(ErrorEnvelope, description="Not signed in."),
    403: OpenApiResponse(ErrorEnvelope, description="Not staff."),
}
TRACKING_ERRORS = {**COMMON_ERRORS, 503: OpenApiResponse(ErrorEnvelope, description="The MLflow store is unreachable.")}


class TrackingStoreUnavailable(APIException):
    status_code = 503
    default_code = "tracking_unavailable"
    default_detail = "The MLflow tracking store is unreachable."


def success(**body) -> Response:
    return Response({"status": "success", **body})


class MonitoringView(APIView):
    """Base of the monitoring views: staff only (the project default), query validated by ``query_class``."""

    query_class = WindowQuery

    def query(self, request) -> dict:
        serializer = self.query_class(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        values.setdefault("start", None)
        values.setdefault("end", None)
        values.setdefault("model_version", None)
        return values

    @staticmethod
    def window(values: dict) -> dict:
        return {"start": values["start"], "end": values["end"], "model_version": values["model_version"]}


class ExperimentsView(MonitoringView):
    @extend_schema(
        tags=TAG, parameters=[WindowQuery], responses={200: ExperimentsEnvelope, **TRACKING_ERRORS}, summary="MLflow experiments"
    )
    def get(self, request):
        self.query(request)
        try:
            experiments = tracking.experiments_list()
        except (tracking.TrackingUnavailable, tracking.TrackingRejected) as exc:
            raise TrackingStoreUnavailable(f"The MLflow tracking store is unreachable: {exc}")
        return success(experiments=experiments, tracking_uri=settings.MLFLOW_TRACKING_URI)


class RunsView(MonitoringView):
    query_class = RunsQuery

    @extend_schema(tags=TAG, parameters=[RunsQuery], responses={200: RunsEnvelope, **TRACKING_ERRORS}, summary="Recent runs or predictions")
    def get(self, request):
        values = self.query(request)
        run_type, limit = values.get("run_type"), values["limit"]
        if run_type in ("prediction", "serving"):
            runs = selectors.recent_predictions_as_runs(limit=limit, **self.window(values))
        else:
            try:
                runs = tracking.runs_search(run_type=run_type, limit=limit, **self.window(values))
            except (tracking.TrackingUnavailable, tracking.TrackingRejected) as exc:
                raise TrackingStoreUnavailable(f"The MLflow tracking store is unreachable: {exc}")
        return success(runs=runs, total=len(runs), limit=limit)


class MetricsView(MonitoringView):
    @extend_schema(tags=TAG, parameters=[WindowQuery], responses={200: MetricsEnvelope, **COMMON_ERRORS}, summary="Prediction overview")
    def get(self, request):
        values = self.query(request)
        metrics = selectors.metrics_overview(**self.window(values))
        return success(metrics={**metrics, "timestamp": timezone.now()})


class ModelVersionsView(MonitoringView):
    @extend_schema(
        tags=TAG,
        parameters=[WindowQuery],
        responses={200: ModelVersionsEnvelope, **TRACKING_ERRORS},
        summary="Model versions: registry versions, aliases, sha256 and their latest evaluation",
    )
    def get(self, request):
        from .registry import RegistryUnavailable, aliases_get, versions_list

        values = self.query(request)
        try:
            registered = versions_list()
            aliases = aliases_get()
        except RegistryUnavailable as exc:
            raise TrackingStoreUnavailable(f"The MLflow model registry is unreachable: {exc}")
        versions = selectors.model_versions_with_evaluations(registered=registered, aliases=aliases, **self.window(values))
        return success(model_versions=versions, total=len(versions))


class RegisterModelView(MonitoringView):
    """Record an evaluation of a model version (a row and an MLflow evaluation run)."""

    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        tags=TAG,
        request=RegisterModelRequest,
        responses={201: RegisterModelEnvelope, **TRACKING_ERRORS},
        summary="Record evaluation metrics for a model version",
    )
    def post(self, request):
        from .services import evaluation_record

        serializer = RegisterModelRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            evaluation = evaluation_record(
                model_name=data.get("model_name") or settings.MLFLOW_REGISTERED_MODEL_NAME,
                model_version=data["model_version"],
                source=Evaluation.Source.MANUAL,
                accuracy=data["accuracy"],
                precision=data["precision"],
                recall=data["recall"],
                f1_score=data["f1_score"],
                sample_count=data.get("sample_count"),
                details=data.get("details") or {},
            )
        except (tracking.TrackingUnavailable, tracking.TrackingRejected) as exc:
            raise TrackingStoreUnavailable(f"The MLflow tracking store is unreachable: {exc}")
        metrics = {name: getattr(evaluation, name) for name in ("accuracy", "precision", "recall", "f1_score")}
        body = {
            "status": "success",
            "message": f"Recorded the evaluation of {evaluation.model_name} version {evaluation.model_version}.",
            "run_id": evaluation.mlflow_run_id,
            "metrics": metrics,
            "evaluation_id": evaluation.pk,
        }
        return Response(body, status=201)


class PredictionStatsView(MonitoringView):
    @extend_schema(
        tags=TAG,
        parameters=[WindowQuery],
        responses={200: DataEnvelope, **COMMON_ERRORS},
        summary="Prediction statistics by food, day and user",
    )
    def get(self, request):
        values = self.query(request)
        return success(data=selectors.prediction_statistics(**self.window(values)))


class ConfidenceView(MonitoringView):
    query_class = ConfidenceQuery

    @extend_schema(tags=TAG, parameters=[ConfidenceQuery], responses={200: DataEnvelope, **COMMON_ERRORS}, summary="Confidence histogram")
    def get(self, request):
        values = self.query(request)
        return success(data=selectors.confidence_histogram(bins=values["bins"], **self.window(values)))


class PerformanceView(MonitoringView):
    query_class = PerformanceQuery

    @extend_schema(
        tags=TAG,
        parameters=[PerformanceQuery],
        responses={200: DataEnvelope, **COMMON_ERRORS},
        summary="Accuracy, precision, recall, F1 from evaluations and feedback; calibration and label-free accuracy",
    )
    def get(self, request):
        values = self.query(request)
        return success(data=selectors.performance_report(bins=values["bins"], **self.window(values)))


class DriftView(MonitoringView):
    """The seed's drift summary over a stored drift report: reused when one covers nearly the same windows, else computed now.

    Computing reads the food counts of both windows and a sample of their rows (seconds at
    a million rows); the periodic drift task keeps a current report for the default windows.
    A report computed here is stored but not logged to MLflow: only the periodic task, on the
    mlflow queue, writes drift runs (one writer for a SQLite store, no web request waiting on MLflow).
    """

    query_class = DriftQuery

    @extend_schema(tags=TAG, parameters=[DriftQuery], responses={200: DataEnvelope, **COMMON_ERRORS}, summary="Drift of the recent window")
    def get(self, request):
        from .drift_reports import drift_report_compute

        values = self.query(request)
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


class HealthView(MonitoringView):
    query_class = HealthQuery

    @extend_schema(
        tags=TAG,
        parameters=[HealthQuery],
        responses={200: DataEnvelope, **COMMON_ERRORS},
        summary="System health from the request log, with worker, broker, MLflow and mirror state",
    )
    def get(self, request):
        values = self.query(request)
        end = values["end"] or timezone.now()
        start = values["start"] or end - timedelta(minutes=values["window_minutes"])
        report = system_health(start=start, end=end, model_version=values["model_version"])
        report.update(timestamp=timezone.now(), window={"start": start, "end": end})
        return success(data=report)


class MetricHistoryView(MonitoringView):
    query_class = MetricHistoryQuery

    @extend_schema(
        tags=TAG, parameters=[MetricHistoryQuery], responses={200: MetricHistoryEnvelope, **COMMON_ERRORS}, summary="History of one metric"
    )
    def get(self, request):
        values = self.query(request)
        points = selectors.metric_history(metric_name=values["metric_name"], limit=values["limit"], **self.window(values))
        return success(metric_name=values["metric_name"], data=points, total_points=len(points))
