"""Promote and roll back from the Models page: a confirmation page with the guardrail's evidence, then a POST with a reason.

Staff only (others are sent to log in); staff without ``mlops.promote_model`` get a 403 page
saying so. A refused change re-renders the confirmation with why (409); a missing reason is a 400.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from ..lifecycle.promotion import PERMISSION, can_promote, model_version_promote, model_version_rollback
from ..mlflow_store import MlflowNotFound, MlflowRejected, MlflowUnavailable
from ..services import PromotionRefused
from .promotion import promote_confirmation, rollback_confirmation
from .views import staff_required

VERSION_PATTERN = r"^[0-9]{1,9}$"


class PromoteForm(forms.Form):
    version = forms.RegexField(regex=VERSION_PATTERN, max_length=9)
    expected_champion = forms.RegexField(regex=r"^[0-9]{0,9}$", max_length=9, required=False)
    reason = forms.CharField(max_length=2000, error_messages={"required": "Give a reason: it is recorded with the change."})
    override = forms.BooleanField(required=False)


class RollbackForm(forms.Form):
    expected_champion = forms.RegexField(regex=r"^[0-9]{0,9}$", max_length=9, required=False)
    reason = forms.CharField(max_length=2000, error_messages={"required": "Give a reason: it is recorded with the change."})


def _problem(request, message: str, status: int):
    return render(request, "mlops/filter_error.html", {"message": message, "path": reverse("mlops-models")}, status=status)


def _registry_problem(request, exc: Exception):
    if isinstance(exc, MlflowNotFound):
        return _problem(request, f"The model registry has no such version: {exc}", 404)
    if isinstance(exc, MlflowUnavailable):
        return _problem(request, f"The model registry cannot be reached right now ({exc}); nothing was changed. Try again.", 503)
    return _problem(request, f"The model registry refused the request ({exc}); nothing was changed.", 400)


def promoter_required(view):
    """Staff with the promote permission; other staff get a 403 page that names the permission."""

    @staff_required
    def wrapped(request, *args, **kwargs):
        if not can_promote(request.user):
            message = (
                f"Promoting and rolling back need the permission {PERMISSION!r} (staff status alone is not enough): "
                "ask an administrator to grant it in the admin, under Users."
            )
            return _problem(request, message, 403)
        return view(request, *args, **kwargs)

    return wrapped


def _expected_champion(request, form) -> str | None:
    """The champion the confirmation page showed ("" for none); None when the form did not say (no check)."""
    return form.cleaned_data["expected_champion"] if "expected_champion" in request.POST else None


def _models_page_with(request, text: str):
    messages.success(request, text)
    return redirect(reverse("mlops-models") + "#lifecycle-controls")


@promoter_required
def promote_view(request):
    """GET ?version=N: the confirmation with the guardrail's verdict. POST: promote (reason required; override if refused)."""
    posted = request.method == "POST"
    version = (request.POST if posted else request.GET).get("version", "")
    if not re.fullmatch(VERSION_PATTERN, version):
        return _problem(request, "Pick a registered version number to promote (such as version=2).", 400)
    try:
        context = promote_confirmation(version=version)
    except (MlflowUnavailable, MlflowRejected) as exc:
        return _registry_problem(request, exc)
    if not posted:
        context["form"] = PromoteForm(initial={"version": version, "expected_champion": context["champion"] or ""})
        return render(request, "mlops/promote_confirm.html", context)
    form = context["form"] = PromoteForm(request.POST)
    if not form.is_valid():
        return render(request, "mlops/promote_confirm.html", context, status=400)
    data = form.cleaned_data
    try:
        record = model_version_promote(
            version=version,
            actor=request.user,
            reason=data["reason"],
            override=data["override"],
            expected_champion=_expected_champion(request, form),
        )
    except (MlflowUnavailable, MlflowRejected) as exc:
        return _registry_problem(request, exc)
    except PromotionRefused as exc:
        context["refusal"] = str(exc)
        return render(request, "mlops/promote_confirm.html", context, status=409)
    overridden = " over the guardrail" if record.kind == record.Kind.OVERRIDE else ""
    return _models_page_with(request, f"Version {record.to_version} is the champion{overridden} (was {record.from_version or 'none'}).")


@promoter_required
def rollback_view(request):
    """GET: the confirmation (from which version back to which). POST: roll back (reason required)."""
    try:
        context = rollback_confirmation()
    except (MlflowUnavailable, MlflowRejected) as exc:
        return _registry_problem(request, exc)
    if request.method != "POST":
        context["form"] = RollbackForm(initial={"expected_champion": context["champion"] or ""})
        return render(request, "mlops/rollback_confirm.html", context)
    form = RollbackForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "mlops/rollback_confirm.html", context, status=400)
    try:
        record = model_version_rollback(
            actor=request.user, reason=form.cleaned_data["reason"], expected_champion=_expected_champion(request, form)
        )
    except (MlflowUnavailable, MlflowRejected) as exc:
        return _registry_problem(request, exc)
    except PromotionRefused as exc:
        context["refusal"] = str(exc)
        return render(request, "mlops/rollback_confirm.html", context, status=409)
    return _models_page_with(request, f"Rolled back: version {record.to_version} is the champion again (was {record.from_version}).")
