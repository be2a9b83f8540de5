"""Views of the MLOps pages (staff only; others are sent to log in). They parse the URL, call one context builder, render."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from predictions.models import Prediction
from predictions.thumbnails import ThumbnailUnavailable, thumbnail_ensure

from ..alerts import AlertAcknowledgeRefused, alert_acknowledge
from ..models import Alert
from . import alerts, drift, jobs, model_versions, overview, predictions, promotion
from .filters import DAY_CHOICES, FilterInvalid, filters_parse
from .navigation import model_version_choices

staff_required = user_passes_test(lambda user: user.is_active and user.is_staff)


def ops_page(template: str, page: str):
    """A staff-only GET page whose filters come from the URL; a bad filter is a 400 page that says what is wrong."""

    def decorate(build):
        @staff_required
        @wraps(build)
        def view(request, *args, **kwargs):
            try:
                filters = filters_parse(request.GET)
                context = build(request, filters, *args, **kwargs)
            except FilterInvalid as exc:
                return render(request, "mlops/filter_error.html", {"message": str(exc), "path": request.path}, status=400)
            context.update(
                page=page,
                day_choices=DAY_CHOICES,
                filters=filters,
                version_choices=model_version_choices(filters.model_version),
                refresh_seconds=settings.NUTRILEARN_PAGE_REFRESH_SECONDS,
                rendered_at=timezone.now(),
            )
            return render(request, template, context)

        return view

    return decorate


@ops_page("mlops/overview.html", "overview")
def overview_page(request, filters):
    return overview.overview_context(filters)


@ops_page("mlops/predictions.html", "predictions")
def predictions_page(request, filters):
    return predictions.prediction_list_context(filters, request.GET)


@ops_page("mlops/prediction_detail.html", "predictions")
def prediction_detail_page(request, filters, prediction_id: int):
    prediction = get_object_or_404(Prediction.objects.select_related("food", "feedback_food", "user"), pk=prediction_id)
    return predictions.prediction_detail_context(prediction)


@staff_required
def prediction_thumbnail(request, prediction_id: int):
    """A small JPEG of the prediction's photo, made on first request and kept."""
    prediction = get_object_or_404(Prediction.objects.only("id", "image"), pk=prediction_id)
    try:
        name = thumbnail_ensure(prediction)
    except ThumbnailUnavailable as exc:
        raise Http404(str(exc)) from exc
    response = FileResponse(default_storage.open(name), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@ops_page("mlops/drift.html", "drift")
def drift_page(request, filters):
    return drift.drift_context(filters, report_id=request.GET.get("report"))


@ops_page("mlops/models.html", "models")
def models_page(request, filters):
    context = model_versions.models_context(filters, version=request.GET.get("version"), compare=request.GET.get("compare"))
    context["promotion"] = promotion.promotion_panel(user=request.user, aliases=context["aliases"], versions=context["versions"])
    return context


@ops_page("mlops/alerts.html", "alerts")
def alerts_page(request, filters):
    return alerts.alerts_context(filters, status=request.GET.get("status"))


@staff_required
@require_POST
def alert_acknowledge_view(request, alert_id: int):
    alert = get_object_or_404(Alert, pk=alert_id)
    try:
        alert_acknowledge(alert=alert, user=request.user)
    except AlertAcknowledgeRefused as exc:
        return render(request, "mlops/filter_error.html", {"message": str(exc), "path": request.path}, status=409)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("mlops-alerts")
    return redirect(target)


@ops_page("mlops/jobs.html", "jobs")
def jobs_page(request, filters):
    return jobs.jobs_context(filters, name=request.GET.get("name"), status=request.GET.get("status"))
