"""Experiments, runs and model versions: what the MLflow store holds, and evaluations recorded against a version."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from .. import mlflow_store, selectors
from ..mlflow_store import registry
from ..models import Evaluation
from ..serializers import (
    ExperimentsEnvelope,
    ModelVersionsEnvelope,
    RegisterModelEnvelope,
    RegisterModelRequest,
    RunsEnvelope,
    RunsQuery,
    WindowQuery,
)
from ..services import evaluation_record
from .base import TAG, query_validate, refuse_empty_values, success, window
from .errors import REGISTER_MODEL_ERRORS, TRACKING_ERRORS, UnknownModelVersion, mlflow_api_error

MLFLOW_FAILURES = (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected)


class ExperimentViewSet(ViewSet):
    @extend_schema(
        tags=TAG,
        operation_id="mlops_experiments_retrieve",
        parameters=[WindowQuery],
        responses={200: ExperimentsEnvelope, **TRACKING_ERRORS},
        summary="MLflow experiments",
    )
    def list(self, request):
        """The experiments of the MLflow tracking store."""
        query_validate(request)
        try:
            experiments = mlflow_store.experiments_list()
        except MLFLOW_FAILURES as exc:
            raise mlflow_api_error(exc, "tracking store")
        return success(experiments=experiments, tracking_uri=settings.MLFLOW_TRACKING_URI)


class RunViewSet(ViewSet):
    @extend_schema(
        tags=TAG,
        operation_id="mlops_runs_retrieve",
        parameters=[RunsQuery],
        responses={200: RunsEnvelope, **TRACKING_ERRORS},
        summary="Recent runs or predictions",
    )
    def list(self, request):
        """MLflow runs of one run type (training, evaluation, drift), newest first.

        ``run_type=prediction`` (and ``serving``) answers from the database, not from MLflow: the
        most recent predictions, each shaped like the per-prediction runs of the compatibility
        contract and carrying the id of the serving run it was mirrored into.
        """
        values = query_validate(request, RunsQuery)
        run_type, limit = values.get("run_type"), values["limit"]
        if run_type in ("prediction", "serving"):
            runs = selectors.recent_predictions_as_runs(limit=limit, **window(values))
        else:
            try:
                runs = mlflow_store.runs_search(run_type=run_type, limit=limit, **window(values))
            except MLFLOW_FAILURES as exc:
                raise mlflow_api_error(exc, "tracking store")
        return success(runs=runs, total=len(runs), limit=limit)


class ModelVersionViewSet(ViewSet):
    """Registered model versions; ``register`` is routed at the contract's ``register-model`` path in ``mlops.api_urls``."""

    # register takes a JSON body or a form (the contract's clients post either); nothing here is a file.
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        tags=TAG,
        operation_id="mlops_model_versions_retrieve",
        parameters=[WindowQuery],
        responses={200: ModelVersionsEnvelope, **TRACKING_ERRORS},
        summary="Model versions: registry versions, aliases, sha256 and their latest evaluation",
    )
    def list(self, request):
        """The registered versions of the served model with their aliases, sha256 and latest evaluation."""
        values = query_validate(request)
        try:
            registered = registry.versions_list()
            aliases = registry.aliases_get()
        except MLFLOW_FAILURES as exc:
            raise mlflow_api_error(exc, "model registry")
        versions = selectors.model_versions_with_evaluations(registered=registered, aliases=aliases, **window(values))
        return success(model_versions=versions, total=len(versions))

    @extend_schema(
        tags=TAG,
        operation_id="mlops_register_model_create",
        request=RegisterModelRequest,
        responses={201: RegisterModelEnvelope, **REGISTER_MODEL_ERRORS},
        summary="Record evaluation metrics for a registered model version",
    )
    def register(self, request):
        """Record an evaluation of a registered model version (a row and an MLflow evaluation run).

        Served at ``register-model`` for the compatibility contract: it registers no model.
        """
        refuse_empty_values(request.data, RegisterModelRequest)
        serializer = RegisterModelRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        model_name = data.get("model_name", settings.MLFLOW_REGISTERED_MODEL_NAME)
        try:
            registry.version_get(data["model_version"], name=model_name)
        except mlflow_store.MlflowNotFound:
            raise UnknownModelVersion(f"The model registry has no version {data['model_version']} of {model_name!r}.")
        except MLFLOW_FAILURES as exc:
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
        except MLFLOW_FAILURES as exc:
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
