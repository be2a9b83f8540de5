from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from .health import database_ready, model_ready


@never_cache
def healthz(request):
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Readiness: the database answers and the model is loaded."""
    checks = {"database": database_ready(), "model": model_ready()}
    ready = all(ok for ok, _ in checks.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()},
    }
    return JsonResponse(body, status=200 if ready else 503)
