"""The promotion endpoints under /api/v1/mlops/: the guardrail's verdict, promote, roll back, the audit trail, serving processes.

Reading is for staff (the API's default); promoting and rolling back also need the permission
``mlops.promote_model``. Views validate the body, call one service and answer in the
{"status": "success", ...} envelope; refusals are 409 with a code and a sentence saying why.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import BasePermission, IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from nutrilearn.api_errors import PERMISSION_DENIED, error_response

from .. import mlflow_store
from ..api.base import TAG, refuse_empty_values, success
from ..api.errors import COMMON_ERRORS, mlflow_api_error
from ..mlflow_store import registry
from ..mlflow_store.registry import CHAMPION
from ..models import PromotionRecord
from ..services import PromotionRefused
from .evidence import promotion_evidence
from .promotion import (
    PERMISSION,
    ChampionChanged,
    GuardrailRefused,
    PromotionForbidden,
    VersionUnloadable,
    can_promote,
    model_version_promote,
    model_version_rollback,
)
from .serving_processes import serving_processes_list

VERSION_FIELD = serializers.RegexField(r"^[0-9]{1,9}$", max_length=9, help_text="A registered version number.")
REFUSALS = {
    "guardrail_refused": "the challenger is worse than the champion beyond the tolerance, or no evaluations on a shared set "
    "exist (the message says what to run); send override=true with a reason to promote anyway",
    "version_unloadable": "the version does not load or fails its smoke test: it can never be promoted",
    "champion_changed": "the champion is not the expected_champion given: someone moved it since; check again",
    "promotion_refused": "nothing to do: the version already is the champion, or no earlier champion is recorded to roll back to",
}
CHANGE_ERRORS = {
    **COMMON_ERRORS,
    400: error_response(
        "PromotionBadRequestError",
        {
            "invalid": "a field is missing, empty or malformed (see error.fields)",
            "parse_error": "the body is not valid JSON",
            "mlflow_rejected": "the model registry answered and refused the request",
        },
    ),
    403: error_response(
        "PromotionForbiddenError", {**PERMISSION_DENIED, "promotion_forbidden": f"the caller is staff without {PERMISSION}"}
    ),
    404: error_response("PromotionNotFoundError", {"mlflow_not_found": "the registry has no such version"}),
    409: error_response("PromotionConflictError", {**REFUSALS, "mlflow_conflict": "the registry refused a conflicting change"}),
    415: error_response("PromotionUnsupportedError", {"unsupported_media_type": "the body is not JSON or a form"}),
    503: error_response("PromotionUnavailableError", {"tracking_unavailable": "the model registry cannot be reached"}),
}
READ_ERRORS = {
    **COMMON_ERRORS,
    503: error_response("PromotionReadUnavailableError", {"tracking_unavailable": "the model registry cannot be reached"}),
}
CHECK_ERRORS = {**READ_ERRORS, 404: error_response("PromotionCheckNotFoundError", {"mlflow_not_found": "the registry has no such version"})}


class CanPromote(BasePermission):
    message = (
        f"Promoting and rolling back need the permission {PERMISSION!r}, not only staff status; "
        "an administrator grants it in the admin (Users)."
    )
    code = "promotion_forbidden"

    def has_permission(self, request, view):
        return can_promote(request.user)


class PromotionConflict(APIException):
    status_code = 409
    default_code = "promotion_refused"


def refusal(exc: Exception) -> APIException:
    """The API's answer to a refused promotion or rollback."""
    if isinstance(exc, PromotionForbidden):
        return PermissionDenied(str(exc), code="promotion_forbidden")
    code = {GuardrailRefused: "guardrail_refused", VersionUnloadable: "version_unloadable", ChampionChanged: "champion_changed"}
    return PromotionConflict(str(exc), code=code.get(type(exc), "promotion_refused"))


class CheckQuery(serializers.Serializer):
    version = VERSION_FIELD


class PromoteRequest(serializers.Serializer):
    version = VERSION_FIELD
    reason = serializers.CharField(max_length=2000, help_text="Why: recorded with the change.")
    override = serializers.BooleanField(
        default=False, help_text="Promote although the guardrail refuses; the reason is recorded. Never skips the load and smoke test."
    )
    expected_champion = serializers.RegexField(
        r"^[0-9]{0,9}$",
        required=False,
        allow_blank=True,
        max_length=9,
        help_text="The champion you saw (empty: none); the change is refused if it moved since.",
    )


class RollbackRequest(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why: recorded with the change.")
    expected_champion = serializers.RegexField(
        r"^[0-9]{0,9}$",
        required=False,
        allow_blank=True,
        max_length=9,
        help_text="The champion you saw (empty: none); the rollback is refused if it moved since.",
    )


class EvidenceSerializer(serializers.Serializer):
    version = serializers.CharField()
    champion = serializers.CharField(allow_null=True)
    promotable = serializers.BooleanField(help_text="False: the guardrail refuses (an override with a reason can still promote).")
    message = serializers.CharField()
    tolerance_points = serializers.FloatField()
    comparison = serializers.DictField(allow_null=True, help_text="McNemar's test on the shared images (null without a pair).")
    champion_evaluation = serializers.DictField(allow_null=True)
    challenger_evaluation = serializers.DictField(allow_null=True)


class RecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = PromotionRecord
        fields = ["id", "created_at", "kind", "actor_name", "model_name", "from_version", "to_version", "reason", "evidence"]


class ServingProcessSerializer(serializers.Serializer):
    hostname = serializers.CharField()
    pid = serializers.IntegerField()
    role = serializers.CharField()
    alias = serializers.CharField()
    model_version = serializers.CharField()
    model_sha256 = serializers.CharField()
    started_at = serializers.DateTimeField()
    switched_at = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    seconds_since_seen = serializers.FloatField()
    last_check_error = serializers.CharField()
    on_champion = serializers.BooleanField()
    flag = serializers.ChoiceField(
        choices=["", "behind", "silent"],
        help_text="behind: not on the champion two poll intervals after it moved; silent: no heartbeat for two intervals.",
    )


def _champion() -> str | None:
    try:
        return registry.aliases_get().get(CHAMPION)
    except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
        raise mlflow_api_error(exc, "model registry")


class PromotionCheckView(APIView):
    @extend_schema(
        tags=TAG,
        parameters=[CheckQuery],
        summary="What the promotion guardrail says about a version, before promoting it",
        responses={
            200: inline_serializer("PromotionCheckEnvelope", {"status": serializers.CharField(), "evidence": EvidenceSerializer()}),
            **CHECK_ERRORS,
        },
    )
    def get(self, request):
        refuse_empty_values(request.query_params, CheckQuery)
        query = CheckQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        version = query.validated_data["version"]
        try:
            registry.version_get(version)
        except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
            raise mlflow_api_error(exc, "model registry")
        evidence = promotion_evidence(version=version, champion=_champion())
        return success(evidence=evidence.snapshot())


def _champion_move(request, request_class, service) -> Response:
    """Run a promotion or rollback service for the requesting user: 201 with the audit record, or the refusal's error."""
    data = _body(request, request_class)
    try:
        record = service(actor=request.user, **data)
    except (mlflow_store.MlflowUnavailable, mlflow_store.MlflowRejected) as exc:
        raise mlflow_api_error(exc, "model registry")
    except PromotionRefused as exc:
        raise refusal(exc)
    return Response({"status": "success", "record": RecordSerializer(record).data}, status=201)


class PromoteView(APIView):
    permission_classes = [IsAdminUser, CanPromote]
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        tags=TAG,
        request=PromoteRequest,
        summary="Make a version the champion (guardrail, load and smoke test; audited)",
        responses={
            201: inline_serializer("PromoteEnvelope", {"status": serializers.CharField(), "record": RecordSerializer()}),
            **CHANGE_ERRORS,
        },
    )
    def post(self, request):
        return _champion_move(request, PromoteRequest, model_version_promote)


class RollbackView(APIView):
    permission_classes = [IsAdminUser, CanPromote]
    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        tags=TAG,
        request=RollbackRequest,
        summary="Move the champion back to the version it replaced (load and smoke test; audited)",
        responses={
            201: inline_serializer("RollbackEnvelope", {"status": serializers.CharField(), "record": RecordSerializer()}),
            **CHANGE_ERRORS,
        },
    )
    def post(self, request):
        return _champion_move(request, RollbackRequest, model_version_rollback)


class PromotionRecordsView(APIView):
    @extend_schema(
        tags=TAG,
        summary="The audit trail of promotions, overrides and rollbacks, newest first (the latest 100)",
        responses={
            200: inline_serializer("PromotionRecordsEnvelope", {"status": serializers.CharField(), "records": RecordSerializer(many=True)}),
            **COMMON_ERRORS,
        },
    )
    def get(self, request):
        return success(records=RecordSerializer(PromotionRecord.objects.all()[:100], many=True).data)


class ServingProcessesView(APIView):
    @extend_schema(
        tags=TAG,
        summary="Which version each serving process serves, from their heartbeats, with the ones not on the champion flagged",
        responses={
            200: inline_serializer(
                "ServingProcessesEnvelope",
                {
                    "status": serializers.CharField(),
                    "champion": serializers.CharField(allow_null=True),
                    "processes": ServingProcessSerializer(many=True),
                },
            ),
            **READ_ERRORS,
        },
    )
    def get(self, request):
        champion = _champion()
        processes = serving_processes_list(champion=champion)
        return success(champion=champion, processes=ServingProcessSerializer(processes, many=True).data)


def _body(request, serializer_class) -> dict:
    refuse_empty_values(request.data, serializer_class)
    body = serializer_class(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)
