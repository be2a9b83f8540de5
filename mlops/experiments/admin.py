"""Experiments in the Django admin: create a draft (versions checked against the registry), start and stop with actions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from ..mlflow_store import MlflowRejected, MlflowUnavailable
from .models import Experiment
from .services import ExperimentConflict, ExperimentInvalid, experiment_start, experiment_stop, experiment_validate


class ExperimentForm(forms.ModelForm):
    class Meta:
        model = Experiment
        fields = ["name", "champion_version", "challenger_version", "challenger_share"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            experiment_validate(
                champion_version=cleaned["champion_version"].strip(),
                challenger_version=cleaned["challenger_version"].strip(),
                challenger_share=cleaned["challenger_share"],
            )
        except ExperimentInvalid as exc:
            raise forms.ValidationError(str(exc)) from None
        except (MlflowUnavailable, MlflowRejected) as exc:
            raise forms.ValidationError(f"The model registry cannot be read right now ({exc}); try again later.") from None
        return cleaned


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    list_display = ["id", "name", "champion_version", "challenger_version", "challenger_share", "status", "started_at", "stopped_at"]
    list_filter = ["status"]
    actions = ["start", "stop"]
    readonly_fields = ["status", "created_at", "created_by", "started_at", "started_by", "stopped_at", "stopped_by"]

    def has_change_permission(self, request, obj=None):
        # A started experiment's versions and share are what its rows were assigned under: never edited afterwards.
        return super().has_change_permission(request, obj) and (obj is None or obj.status == Experiment.Status.DRAFT)

    def save_model(self, request, obj, form, change):
        # The form checked the versions against the registry (experiment_validate); a new row is a draft.
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def _apply(self, request, queryset, service, done: str) -> None:
        """Run ``service`` on each selected experiment; a refusal is shown, not raised."""
        for experiment in queryset:
            try:
                service(experiment_id=experiment.pk, user=request.user)
            except ExperimentConflict as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Experiment {experiment.pk} {done}.", messages.SUCCESS)

    @admin.action(description="Start the selected draft experiment", permissions=["change"])
    def start(self, request, queryset):
        self._apply(request, queryset, experiment_start, "is running")

    @admin.action(description="Stop the selected running experiment", permissions=["change"])
    def stop(self, request, queryset):
        self._apply(request, queryset, experiment_stop, "stopped")
