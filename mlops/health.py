"""Liveness and readiness of this process."""

from django.db import DatabaseError, connection

from predictions.serving import holder


def database_ready() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return False, f"database unreachable: {exc}"
    return True, "ok"


def model_ready() -> tuple[bool, str]:
    """Ready once the served model is loaded; loading it here is what warms a fresh process."""
    from predictions.inference import ModelUnavailable

    try:
        model = holder.get()
    except ModelUnavailable as exc:
        return False, f"model not loaded: {exc}"
    return True, f"{model.name} version {model.version}"
