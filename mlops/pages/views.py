"""Views of the MLOps pages (staff only; others are sent to log in). They parse the URL, call one context builder, render."""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from predictions.models import Prediction
from predictions.thumbnails import ThumbnailUnavailable, thumbnail_ensure

from ..alerts import AlertAcknowledgeRefused, alert_acknowledge
from ..labelling.models import Label
from ..labelling.services import LabelInvalid, label_record
from ..models import Alert
from ..shadow.models import ShadowPrediction
from ..shadow.services import ReviewInvalid, shadow_review
from . import alerts, drift, jobs, labelling, model_versions, overview, predictions, promotion, shadow
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


SKIPPED_SESSION_KEY = "labelling_skipped"
SKIPPED_LIMIT = 500


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return default
    return target


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@ops_page("mlops/labelling.html", "labelling")
def labelling_page(request, filters):
    return labelling.labelling_context(skipped=frozenset(request.session.get(SKIPPED_SESSION_KEY, [])))


@staff_required
@require_POST
def label_create_view(request, prediction_id: int):
    """One staff label from the queue (``food`` or ``not_food=1``), or ``skip=1`` to leave the photo out of this session's queue."""
    prediction = get_object_or_404(Prediction, pk=prediction_id)
    if request.POST.get("skip") == "1":
        skipped = [pk for pk in request.session.get(SKIPPED_SESSION_KEY, []) if pk != prediction.pk]
        request.session[SKIPPED_SESSION_KEY] = (skipped + [prediction.pk])[-SKIPPED_LIMIT:]
        if _wants_json(request):
            return JsonResponse({"status": "success", "skipped": prediction.pk})
        return redirect("mlops-labelling")
    try:
        label = label_record(
            prediction=prediction,
            source=Label.Source.STAFF_QUEUE,
            user=request.user,
            food_key=request.POST.get("food", "").strip(),
            not_food=request.POST.get("not_food") == "1",
        )
    except LabelInvalid as exc:
        if _wants_json(request):
            return JsonResponse({"status": "error", "message": str(exc)}, status=400)
        return render(request, "mlops/filter_error.html", {"message": str(exc), "path": reverse("mlops-labelling")}, status=400)
    if _wants_json(request):
        return JsonResponse({"status": "success", "label": {"id": label.pk, "prediction_id": prediction.pk, "food_key": label.food_key}})
    return redirect("mlops-labelling")


@ops_page("mlops/shadow.html", "shadow")
def shadow_page(request, filters):
    return shadow.shadow_context(filters, unreviewed_only=request.GET.get("unreviewed") == "1")


@staff_required
@require_POST
def shadow_review_view(request, shadow_id: int):
    """A verdict on one disagreement: the champion was right, the challenger was, or neither (the right answer becomes a label)."""
    row = get_object_or_404(ShadowPrediction.objects.select_related("prediction", "prediction__food", "food"), pk=shadow_id)
    try:
        shadow_review(shadow=row, verdict=request.POST.get("verdict", ""), user=request.user)
    except (ReviewInvalid, LabelInvalid) as exc:
        return render(request, "mlops/filter_error.html", {"message": str(exc), "path": reverse("mlops-shadow")}, status=400)
    return redirect(_safe_next(request, reverse("mlops-shadow")))
