"""One JSON error envelope for every API error: {"status": "error", "error": {...}}."""

from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
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
