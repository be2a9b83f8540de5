"""The A/B test API under /api/v1/mlops/ab-tests (``experiments`` there are MLflow's): list, create, results, start, stop.

Staff only, like the rest of the MLOps API; creating needs the ``mlops.add_experiment`` permission and
starting or stopping ``mlops.change_experiment``, since either sends real users to another model.
Errors use the project's envelope: 400 invalid (with the fields), 404 no such experiment,
409 the state forbids the change (another one runs, it already stopped), 503 the registry cannot be read.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import BasePermission, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from nutrilearn.api_errors import error_response

from .. import mlflow_store
from ..api.base import refuse_empty_values
from ..api.errors import COMMON_ERRORS, mlflow_api_error
from .models import Experiment
from .selectors import experiment_list, experiment_results
from .serializers import (
    ExperimentCreate,
    ExperimentEnvelope,
    ExperimentListEnvelope,
    ExperimentResultsEnvelope,
    ExperimentSerializer,
)
from .services import ExperimentConflict, ExperimentInvalid, experiment_create, experiment_start, experiment_stop

TAG = ["mlops: A/B tests"]
NOT_FOUND = {404: error_response("AbTestNotFoundError", {"not_found": "no experiment has this id (ids are whole numbers)"})}
CONFLICT = {
    409: error_response(
        "AbTestConflictError", {"experiment_conflict": "another experiment runs, or this one is not in a state that allows the change"}
    )
}
CREATE_ERRORS = {
    **COMMON_ERRORS,
    400: error_response(
        "AbTestBadRequestError",
        {
            "invalid": "a field is missing or out of range, the versions are equal, or the registry has no such version (see error.fields)",
            "parse_error": "the body is not valid JSON",
            "mlflow_rejected": "the model registry refused to look the versions up (sending it again will not help)",
        },
    ),
    415: error_response("AbTestUnsupportedError", {"unsupported_media_type": "the body is not JSON or a form"}),
    503: error_response("AbTestRegistryUnavailableError", {"tracking_unavailable": "the model registry cannot be reached"}),
}


class ExperimentConflictError(APIException):
    status_code = 409
    default_code = "experiment_conflict"
    default_detail = "The experiment is not in a state that allows this change."


class CanChangeExperiments(BasePermission):
    """Reads for staff; writes for staff holding the view's ``write_permission`` (``mlops.add_experiment`` by default)."""

    message = "Running A/B tests needs the permission to add or change experiments."

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return request.user.has_perm(getattr(view, "write_permission", "mlops.add_experiment"))


class AbTestBaseView(APIView):
    permission_classes = [IsAdminUser, CanChangeExperiments]

    @staticmethod
    def experiment(experiment_id: int) -> Experiment:
        experiment = experiment_list().filter(pk=experiment_id).first()
        if experiment is None:
            raise NotFound(f"There is no experiment {experiment_id}.")
        return experiment


class AbTestsView(AbTestBaseView):
    parser_classes = [JSONParser, FormParser]
    write_permission = "mlops.add_experiment"

    @extend_schema(
        tags=TAG,
        operation_id="mlops_ab_tests_list",
        responses={200: ExperimentListEnvelope, **COMMON_ERRORS},
        summary="A/B tests, newest first",
    )
    def get(self, request):
        experiments = list(experiment_list())
        return Response({"status": "success", "experiments": ExperimentSerializer(experiments, many=True).data, "total": len(experiments)})

    @extend_schema(
        tags=TAG,
        request=ExperimentCreate,
        responses={201: ExperimentEnvelope, **CREATE_ERRORS},
        summary="Create an A/B test (a draft)",
    )
    def post(self, request):
        refuse_empty_values(request.data, ExperimentCreate)
        serializer = ExperimentCreate(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            experiment = experiment_create(
                champion_version=data["champion_version"],
                challenger_version=data["challenger_version"],
                challenger_share=data["challenger_share"],
                name=data.get("name", ""),
                user=request.user,
            )
        except ExperimentInvalid as exc:
            raise ValidationError({"non_field_errors": [str(exc)]})
        except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
            raise mlflow_api_error(exc, "model registry")
        return Response({"status": "success", "experiment": ExperimentSerializer(experiment).data}, status=201)


class AbTestView(AbTestBaseView):
    @extend_schema(
        tags=TAG,
        operation_id="mlops_ab_tests_retrieve",
        responses={200: ExperimentResultsEnvelope, **COMMON_ERRORS, **NOT_FOUND},
        summary="An A/B test with its results per arm, significance and verdict",
    )
    def get(self, request, experiment_id: int):
        experiment = self.experiment(experiment_id)
        results = experiment_results(experiment=experiment)
        return Response({"status": "success", "experiment": ExperimentSerializer(experiment).data, "results": results})


class AbTestStartView(AbTestBaseView):
    write_permission = "mlops.change_experiment"

    @extend_schema(
        tags=TAG,
        request=None,
        responses={200: ExperimentEnvelope, **COMMON_ERRORS, **NOT_FOUND, **CONFLICT},
        summary="Start a draft A/B test",
    )
    def post(self, request, experiment_id: int):
        self.experiment(experiment_id)
        try:
            experiment = experiment_start(experiment_id=experiment_id, user=request.user)
        except ExperimentConflict as exc:
            raise ExperimentConflictError(str(exc))
        return Response({"status": "success", "experiment": ExperimentSerializer(self.experiment(experiment.pk)).data})


class AbTestStopView(AbTestBaseView):
    write_permission = "mlops.change_experiment"

    @extend_schema(
        tags=TAG,
        request=None,
        responses={200: ExperimentEnvelope, **COMMON_ERRORS, **NOT_FOUND, **CONFLICT},
        summary="Stop a running A/B test",
    )
    def post(self, request, experiment_id: int):
        self.experiment(experiment_id)
        try:
            experiment = experiment_stop(experiment_id=experiment_id, user=request.user)
        except ExperimentConflict as exc:
            raise ExperimentConflictError(str(exc))
        return Response({"status": "success", "experiment": ExperimentSerializer(self.experiment(experiment.pk)).data})
