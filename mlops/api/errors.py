"""The monitoring API's error answers: named exceptions, MLflow failures translated to HTTP, and their schema.

Bad parameters are 400 with the reason; an MLflow store that cannot answer is 503 (try again later),
an MLflow store that answered and refused is 404, 409 or 400 (see ``mlflow_api_error``).
"""

from __future__ import annotations

from rest_framework.exceptions import APIException

from nutrilearn.api_errors import AUTHENTICATION_FAILED, NOT_AUTHENTICATED, PERMISSION_DENIED, error_response

from .. import mlflow_store

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
DRIFT_ERRORS = {
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
