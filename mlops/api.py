"""The monitoring JSON API under /api/v1/mlops/, staff only.

Compatibility contract: the paths, query parameters and {"status": "success", ...} envelopes
of the first NutriLearn dashboard's API are kept, so its clients keep working; fields may be
added, none removed (the contract tests in tests/mlops/test_api*.py and
tests/mlops/test_original_dashboard_contract.py hold it). Where a path's name no longer says
what it does (``register-model`` records an evaluation; ``runs?run_type=prediction|serving``
reads database rows), the path stays for those clients and the code is named for what it does.

Views validate the query, call one selector or service and wrap the result in the
{"status": "success", ...} envelope. Errors use the project's error envelope: bad
parameters are 400 with the reason; an MLflow store that cannot answer is 503 (try again later),
an MLflow store that answered and refused is 404, 409 or 400 (see ``mlflow_api_error``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from nutrilearn.api_errors import AUTHENTICATION_FAILED, NOT_AUTHENTICATED, PERMISSION_DENIED, error_response

from . import mlflow_store, selectors
from .drift_reports import drift_report_compute
from .health import system_health
from .mlflow_store import registry
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
from .services import evaluation_record
from .throttling import drift_compute_allow

TAG = ["mlops"]
INVALID_PARAMETER = {"invalid": "a parameter is malformed, out of range or given empty, or end is not after start (see error.fields)"}
COMMON_ERRORS = {
    400: error_response("MlopsBadRequestError", INVALID_PARAMETER),
    401: error_response("MlopsUnauthorizedError", {**NOT_AUTHENTICATED, **AUTHENTICATION_FAILED}),
    403: error_response("MlopsForbiddenError", PERMISSION_DENIED),
}
MLFLOW_REFUSALS = {
    "mlflow_rejected": "MLflow answered and refused the request (sending it again will not help)",
}
TRACKING_ERRORS = {
    **COMMON_ERRORS,
    400: error_response("MlopsTrackingBadRequestError", {**INVALID_PARAMETER, **MLFLOW_REFUSALS}),
    404: error_response("MlopsTrackingNotFoundError", {"mlflow_not_found": "MLflow has no such run, experiment, model or version"}),
    409: error_response("MlopsTrackingConflictError", {"mlflow_conflict": "what the request would create already exists in MLflow"}),
    503: error_response("MlopsTrackingUnavailableError", {"tracking_unavailable": "the MLflow store cannot be reached"}),
}
REGISTER_MODEL_ERRORS = {
    **TRACKING_ERRORS,
    400: error_response(
        "RegisterModelBadRequestError",
        {
            "invalid": "a field is missing, empty or out of range (see error.fields)",
            "parse_error": "the body is not valid JSON",
            **MLFLOW_REFUSALS,
        },
    ),
    404: error_response(
        "RegisterModelNotFoundError",
        {
            "unknown_model_version": "the registry has no such model name and version",
            "mlflow_not_found": "MLflow has no such run, experiment, model or version",
        },
    ),
    415: error_response("RegisterModelUnsupportedError", {"unsupported_media_type": "the body is not JSON or a form"}),
}


class UnknownModelVersion(APIException):
    status_code = 404
    default_code = "unknown_model_version"
    default_detail = "The model registry has no such model version."


class TrackingStoreUnavailable(APIException):
    status_code = 503
    default_code = "tracking_unavailable"
    default_detail = "The MLflow tracking store is unreachable."


class MlflowRefused(APIException):
    status_code = 400
    default_code = "mlflow_rejected"
    default_detail = "MLflow refused the request."


class MlflowNotFoundError(MlflowRefused):
    status_code = 404
    default_code = "mlflow_not_found"


class MlflowConflictError(MlflowRefused):
    status_code = 409
    default_code = "mlflow_conflict"


def mlflow_api_error(exc: mlflow_store.MlflowUnavailable | mlflow_store.MlflowRejected, store: str) -> APIException:
    """The API's answer to an MLflow failure: 503 when the store could not answer (retry later),
    404 / 409 / 400 when MLflow answered and refused (retrying will not help)."""
    if isinstance(exc, mlflow_store.MlflowUnavailable):
        return TrackingStoreUnavailable(f"The MLflow {store} is unreachable: {exc}")
    if isinstance(exc, mlflow_store.MlflowNotFound):
        return MlflowNotFoundError(f"The MLflow {store} has no such item: {exc}")
    if isinstance(exc, mlflow_store.MlflowConflict):
        return MlflowConflictError(f"The MLflow {store} already has this: {exc}")
    return MlflowRefused(f"The MLflow {store} refused the request: {exc}")


def success(**body) -> Response:
    return Response({"status": "success", **body})


def refuse_empty_values(values, serializer_class) -> None:
    """A known parameter sent with no value is a 400, as the schema promises, not "absent" (DRF's reading of form data)."""
    if not isinstance(values, QueryDict):
        return  # JSON: the serializer refuses "" and null itself
    known = serializer_class().fields
    empty = sorted(key for key, items in values.lists() if key in known and "" in items)
    if empty:
        raise ValidationError({key: ["Give a value, or leave the parameter out."] for key in empty})


class MonitoringView(APIView):
    """Base of the monitoring views: staff only (the project default), query validated by ``query_class``."""

    query_class = WindowQuery

    def query(self, request) -> dict:
        refuse_empty_values(request.query_params, self.query_class)
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
            experiments = mlflow_store.experiments_list()
        except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
            raise mlflow_api_error(exc, "tracking store")
        return success(experiments=experiments, tracking_uri=settings.MLFLOW_TRACKING_URI)


class RunsView(MonitoringView):
    """MLflow runs of one run type (training, evaluation, drift), newest first.

    ``run_type=prediction`` (and ``serving``) answers from the database, not from MLflow: the
    most recent predictions, each shaped like the per-prediction runs of the compatibility
    contract and carrying the id of the serving run it was mirrored into.
    """

    query_class = RunsQuery

    @extend_schema(tags=TAG, parameters=[RunsQuery], responses={200: RunsEnvelope, **TRACKING_ERRORS}, summary="Recent runs or predictions")
    def get(self, request):
        values = self.query(request)
        run_type, limit = values.get("run_type"), values["limit"]
        if run_type in ("prediction", "serving"):
            runs = selectors.recent_predictions_as_runs(limit=limit, **self.window(values))
        else:
            try:
                runs = mlflow_store.runs_search(run_type=run_type, limit=limit, **self.window(values))
            except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
                raise mlflow_api_error(exc, "tracking store")
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
        values = self.query(request)
        try:
            registered = registry.versions_list()
            aliases = registry.aliases_get()
        except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
            raise mlflow_api_error(exc, "model registry")
        versions = selectors.model_versions_with_evaluations(registered=registered, aliases=aliases, **self.window(values))
        return success(model_versions=versions, total=len(versions))


class EvaluationRecordView(MonitoringView):
    """Record an evaluation of a registered model version (a row and an MLflow evaluation run).

    Served at ``register-model`` for the compatibility contract: it registers no model.
    """

    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        tags=TAG,
        request=RegisterModelRequest,
        responses={201: RegisterModelEnvelope, **REGISTER_MODEL_ERRORS},
        summary="Record evaluation metrics for a registered model version",
    )
    def post(self, request):
        refuse_empty_values(request.data, RegisterModelRequest)
        serializer = RegisterModelRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        model_name = data.get("model_name", settings.MLFLOW_REGISTERED_MODEL_NAME)
        try:
            registry.version_get(data["model_version"], name=model_name)
        except mlflow_store.MlflowNotFound:
            raise UnknownModelVersion(f"The model registry has no version {data['model_version']} of {model_name!r}.")
        except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
            raise mlflow_api_error(exc, "model registry")
        try:
            evaluation = evaluation_record(
                model_name=model_name,
                model_version=data["model_version"],
                source=Evaluation.Source.MANUAL,
                accuracy=data["accuracy"],
                precision=data["precision"],
                recall=data["recall"],
                f1_score=data["f1_score"],
                sample_count=data.get("sample_count"),
                details=data.get("details") or {},
            )
        except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
            raise mlflow_api_error(exc, "tracking store")
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
    """The drift summary of the compatibility contract, over a stored drift report.

    A stored report is reused when one covers nearly the same windows, else one is computed now.

    Computing reads the food counts of both windows and a sample of their rows (seconds at
    a million rows); the periodic drift task keeps a current report for the default windows.
    A report computed here is stored but not logged to MLflow: only the periodic task, on the
    mlflow queue, writes drift runs (one writer for a SQLite store, no web request waiting on MLflow).
    Each user may have NUTRILEARN_DRIFT_COMPUTE_RATE reports computed here (mlops/throttling.py); answers
    from a stored report are not counted.
    """

    query_class = DriftQuery

    @extend_schema(
        tags=TAG,
        parameters=[DriftQuery],
        responses={
            200: DataEnvelope,
            **COMMON_ERRORS,
            400: error_response(
                "DriftBadRequestError",
                {
                    "invalid": "a parameter is malformed, out of range or given empty, end is not after start, or start is "
                    "not at least window_days before end (or now), which leaves no baseline window (see error.fields)"
                },
            ),
            429: error_response(
                "DriftThrottledError",
                {
                    "throttled": "no stored report fits and this user already had NUTRILEARN_DRIFT_COMPUTE_RATE new "
                    "reports computed (30 an hour); see Retry-After"
                },
            ),
        },
        summary="Drift of the recent window",
    )
    def get(self, request):
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
