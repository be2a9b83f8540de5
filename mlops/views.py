from django.contrib.admin.views.decorators import staff_member_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from .dashboard import dashboard_context
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


@staff_member_required
def dashboard(request):
    """The ops dashboard (staff only): volume, confidence, health, drift, alerts, model events."""
    try:
        days = min(max(int(request.GET.get("days", 7)), 1), 365)
    except ValueError:
        days = 7
    context = dashboard_context(days=days, model_version=request.GET.get("model_version") or None)
    return render(request, "mlops/dashboard.html", context)
