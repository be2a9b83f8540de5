"""One JSON error envelope for every API error: {"status": "error", "error": {...}}."""

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler as drf_exception_handler


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "request_too_large"
    default_detail = "The request body is larger than the server accepts."


class TooManyFiles(exceptions.APIException):
    status_code = 400
    default_code = "too_many_files"
    default_detail = "The request holds more files than the server accepts."


class TooManyFields(exceptions.APIException):
    status_code = 400
    default_code = "too_many_fields"
    default_detail = "The request holds more form fields than the server accepts."


class BadRequest(exceptions.APIException):
    status_code = 400
    default_code = "bad_request"
    default_detail = "The request cannot be read."


def _as_api_exception(exc):
    """Django's request-limit errors (raised while DRF parses a body) as API errors; anything else unchanged."""
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, TooManyFilesSent):
        return TooManyFiles()
    if isinstance(exc, TooManyFieldsSent):
        return TooManyFields()
    if isinstance(exc, SuspiciousOperation):
        return BadRequest()
    return exc


def exception_handler(exc, context):
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(detail, dict) and "detail" in detail and len(detail) == 1:
        message = str(detail["detail"])
        fields = None
    elif isinstance(detail, dict):
        fields = {key: [str(item) for item in (value if isinstance(value, list) else [value])] for key, value in detail.items()}
        message = "; ".join(f"{key}: {' '.join(items)}" for key, items in fields.items())
        code = "invalid"
    else:
        message = " ".join(str(item) for item in detail) if isinstance(detail, list) else str(detail)
        fields = None
    error = {"code": getattr(getattr(exc, "detail", None), "code", None) or code, "message": message}
    if fields:
        error["fields"] = fields
    response.data = {"status": "error", "error": error}
    return response


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any path under /api/ that no endpoint matches (a non-numeric id, a typo): a JSON 404, in development too."""
    message = f"{request.method} {request.path} is not an endpoint of this API (ids are whole numbers); see /api/v1/schema."
    return JsonResponse({"status": "error", "error": {"code": "not_found", "message": message}}, status=404)


# --- the error responses in the OpenAPI schema ---------------------------------------

# Errors any endpoint can answer, whatever its permissions.
AUTHENTICATION_FAILED = {"authentication_failed": "the token given is not valid"}
NOT_AUTHENTICATED = {"not_authenticated": "no credentials were given (the answer carries WWW-Authenticate: Token)"}
PERMISSION_DENIED = {"permission_denied": "the caller is not staff, or a signed-in session sent no CSRF token"}


def error_response(name: str, codes: dict[str, str]):
    """An error response of the schema: the envelope with ``error.code`` limited to ``codes`` (code -> when it is given).

    ``name`` names the component; one per operation and status, since each lists its own codes.
    """
    detail = inline_serializer(
        f"{name}Detail",
        {
            "code": serializers.ChoiceField(choices=list(codes)),
            "message": serializers.CharField(help_text="A sentence a person understands."),
            "fields": serializers.DictField(
                child=serializers.ListField(child=serializers.CharField()),
                required=False,
                help_text="For code invalid: the reasons per parameter or field.",
            ),
        },
    )
    envelope = inline_serializer(name, {"status": serializers.ChoiceField(choices=["error"]), "error": detail})
    return OpenApiResponse(envelope, description="; ".join(f"`{code}`: {when}" for code, when in codes.items()))
