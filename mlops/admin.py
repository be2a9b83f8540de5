from django.contrib import admin
from django.db import models

from .experiments import admin as experiments_admin  # noqa: F401  (registers the Experiment admin)
from .models import (
    Alert,
    AlertDelivery,
    AlertRule,
    DriftReport,
    Evaluation,
    JobRun,
    Label,
    ModelEvent,
    PromotionRecord,
    RetrainRun,
    ServingProcess,
    ServingRun,
    ShadowPrediction,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by background jobs: browsable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "metric", "operator", "threshold", "window_minutes", "enabled", "email_to", "webhook_url"]
    list_editable = ["threshold", "enabled"]
    list_filter = ["enabled", "metric"]
    search_fields = ["name"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["name", "enabled"]}),
        (
            "Condition",
            {
                "fields": ["metric", "operator", "threshold", "window_minutes"],
                "description": "Request and confidence metrics cover the last window_minutes; drift reads the latest periodic "
                "drift report (1 = drift) and the mirror backlog its current age, whatever the window. A rule with too little "
                "data in its window does not fire.",
            },
        ),
        ("Notifications", {"fields": ["email_to", "webhook_url"]}),
    ]


class AlertDeliveryInline(admin.TabularInline):
    model = AlertDelivery
    extra = 0
    can_delete = False
    fields = ["created_at", "event", "channel", "target", "delivered", "attempts", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["rule", "status", "opened_at", "resolved_at", "value", "last_value"]
    list_filter = ["status", "rule"]
    date_hierarchy = "opened_at"
    inlines = [AlertDeliveryInline]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["alert", "event", "channel", "target", "delivered", "attempts", "created_at"]
    list_select_related = ["alert__rule"]  # an alert is shown by its rule's name
    list_filter = ["delivered", "channel", "event"]
    search_fields = ["target", "error"]


@admin.register(DriftReport)
class DriftReportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "verdict", "drift_detected", "drift_score", "model_version", "recent_end", "mlflow_run_id"]
    list_filter = ["verdict", "drift_detected", "model_version"]
    date_hierarchy = "created_at"


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["name", "status", "started_at", "duration_seconds", "items", "error"]
    list_filter = ["status", "name"]
    search_fields = ["error"]
    date_hierarchy = "started_at"


@admin.register(ServingRun)
class ServingRunAdmin(ReadOnlyAdmin):
    """The MLflow run of each model version and day; a prediction's point there is at step = its id."""

    list_display = ["day", "model_name", "model_version", "run_id", "aggregated_until", "aggregates_complete", "created_at"]
    list_filter = ["model_name", "model_version", "aggregates_complete"]
    search_fields = ["run_id", "model_version"]
    date_hierarchy = "day"


@admin.register(ModelEvent)
class ModelEventAdmin(ReadOnlyAdmin):
    """What each serving process did with the registry: loaded, switched, refused (with why); promotions and rollbacks."""

    list_display = ["created_at", "kind", "model_name", "model_version", "alias", "hostname", "pid", "message"]
    list_filter = ["kind", "model_version"]
    search_fields = ["message", "model_version", "hostname"]
    date_hierarchy = "created_at"


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "model_name", "model_version", "source", "accuracy", "precision", "recall", "f1_score", "sample_count"]
    list_filter = ["source", "model_version"]
    search_fields = ["model_version", "mlflow_run_id"]
    date_hierarchy = "created_at"


@admin.register(PromotionRecord)
class PromotionRecordAdmin(ReadOnlyAdmin):
    """The audit trail: nobody edits or deletes it by hand. Grant mlops.promote_model under Users (or manage.py promotion_grant)."""

    list_display = ["created_at", "kind", "model_name", "from_version", "to_version", "actor_name", "reason"]
    list_filter = ["kind"]
    search_fields = ["reason", "actor_name", "to_version"]
    readonly_fields = ["created_at", "kind", "actor", "actor_name", "model_name", "from_version", "to_version", "reason", "evidence"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServingProcess)
class ServingProcessAdmin(ReadOnlyAdmin):
    list_display = ["hostname", "pid", "role", "alias", "model_version", "switched_at", "last_seen"]
    list_filter = ["role", "alias"]
@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    """The labelled set: users' feedback, the staff queue and shadow reviews (written by those, not here)."""

    list_display = ["created_at", "prediction", "food_key", "source", "user"]
    list_filter = ["source"]
    search_fields = ["food_key", "food_text"]
    raw_id_fields = ["prediction", "food", "user"]
    date_hierarchy = "created_at"


@admin.register(ShadowPrediction)
class ShadowPredictionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "prediction", "model_version", "food", "confidence", "agrees", "verdict", "reviewed_by"]
    list_filter = ["agrees", "verdict", "model_version"]
    raw_id_fields = ["prediction", "food", "reviewed_by"]
    date_hierarchy = "created_at"


@admin.register(RetrainRun)
class RetrainRunAdmin(ReadOnlyAdmin):
    """Each retraining: its triggers, labels and images (by hash), the challenger it registered and both evaluations."""

    list_display = ["created_at", "status", "champion_version", "model_version", "image_count", "promoted", "alert", "error"]
    list_filter = ["status", "promoted"]
    raw_id_fields = ["drift_report", "challenger_evaluation", "champion_evaluation", "alert"]
    date_hierarchy = "created_at"
