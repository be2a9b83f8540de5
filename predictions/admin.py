import csv

from django.contrib import admin
from django.db.models import Q
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .models import CONFIDENCE_BANDS, FEEDBACK_STATES, Food, Prediction


@admin.register(Food)
class FoodAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "key",
        "imagenet_index",
        "energy_kcal",
        "protein_g",
        "carbohydrate_g",
        "fat_g",
        "fibre_g",
        "fdc_id",
        "nutrition_verified",
    ]
    search_fields = ["display_name", "key", "fdc_description"]
    list_filter = ["nutrition_verified", ("energy_kcal", admin.EmptyFieldListFilter)]


class QueryChoiceFilter(admin.SimpleListFilter):
    """A list filter whose choices are named queries: {value: (label, Q)}."""

    options: dict[str, tuple[str, Q]] = {}

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _) in self.options.items()]

    def queryset(self, request, queryset):
        choice = self.options.get(self.value())
        return queryset.filter(choice[1]) if choice else queryset


class ConfidenceBandFilter(QueryChoiceFilter):
    title = "confidence band"
    parameter_name = "band"
    options = CONFIDENCE_BANDS


class FeedbackFilter(QueryChoiceFilter):
    title = "feedback"
    parameter_name = "feedback"
    options = FEEDBACK_STATES


class ModelVersionFilter(admin.SimpleListFilter):
    title = "model version"
    parameter_name = "model_version"

    def lookups(self, request, model_admin):
        versions = Prediction.objects.exclude(model_version="").values_list("model_version", flat=True).distinct().order_by("model_version")
        return [(version, version) for version in versions]

    def queryset(self, request, queryset):
        return queryset.filter(model_version=self.value()) if self.value() else queryset


class MirrorStateFilter(admin.SimpleListFilter):
    """Where a prediction stands in the MLflow mirror; "given up" rows are not retried (see their MLflow error)."""

    title = "MLflow mirror"
    parameter_name = "mirror"

    def lookups(self, request, model_admin):
        return [("mirrored", "mirrored"), ("pending", "pending"), ("failing", "failing, retried"), ("poison", "given up")]

    def queryset(self, request, queryset):
        if self.value() == "mirrored":
            return queryset.filter(mirrored_at__isnull=False)
        if self.value() == "pending":
            return queryset.unmirrored().filter(mirror_error="")
        if self.value() == "failing":
            return queryset.mirror_pending().exclude(mirror_error="")
        if self.value() == "poison":
            return queryset.mirror_given_up()
        return queryset


def spreadsheet_safe(value):
    """Text a spreadsheet would run as a formula (users type feedback text) is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


EXPORT_FIELDS = [
    "id",
    "created_at",
    "status",
    "status_code",
    "reason_code",
    "source",
    "user_id",
    "food__key",
    "confidence",
    "no_food",
    "food_mass",
    "processing_time_seconds",
    "model_name",
    "model_version",
    "model_sha256",
    "ab_arm",
    "image_width",
    "image_height",
    "image_size_bytes",
    "image_sha256",
    "brightness",
    "contrast",
    "sharpness",
    "feedback_correct",
    "feedback_food__key",
    "feedback_text",
    "feedback_at",
    "mirrored_at",
    "mlflow_run_id",
    "mlflow_step",
]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "thumbnail",
        "created_at",
        "label_display",
        "confidence_percent",
        "model_version",
        "status",
        "feedback_display",
        "mirrored",
    ]
    list_filter = [
        "status",
        ("food", admin.RelatedOnlyFieldListFilter),
        ModelVersionFilter,
        ConfidenceBandFilter,
        "no_food",
        FeedbackFilter,
        MirrorStateFilter,
        "source",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["food__display_name", "food__key", "user__username", "image_sha256", "mlflow_run_id", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["food", "feedback_food"]
    actions = ["export_csv", "mirror_retry"]
    list_per_page = 50
    fieldsets = [
        (
            None,
            {"fields": ["ops_page", "image_preview", "created_at", "status", "status_code", "reason_code", "reason", "source", "user"]},
        ),
        ("Recognition", {"fields": ["food", "confidence", "no_food", "food_mass", "top_k", "processing_time_seconds", "quality_hints"]}),
        ("Model", {"fields": ["model_name", "model_version", "model_sha256", "ab_arm"]}),
        (
            "Image",
            {
                "fields": [
                    "image",
                    "image_format",
                    "image_width",
                    "image_height",
                    "image_size_bytes",
                    "image_sha256",
                    "brightness",
                    "contrast",
                    "sharpness",
                ]
            },
        ),
        ("Feedback", {"fields": ["feedback_correct", "feedback_food", "feedback_text", "feedback_at"]}),
        ("MLflow", {"fields": ["mirrored_at", "mlflow_run_id", "mlflow_step", "mirror_attempts", "mirror_claimed_at", "mirror_error"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The session key is a credential of an anonymous user: never shown.
        return ["ops_page", "image_preview"] + [field.name for field in Prediction._meta.fields if field.name != "session_key"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="MLOps page")
    def ops_page(self, obj):
        return format_html('<a href="{}">prediction {} on the MLOps pages</a>', reverse("mlops-prediction", args=[obj.pk]), obj.pk)

    @admin.display(description="photo")
    def thumbnail(self, obj):
        if not obj.image:
            return "—"
        thumbnail = reverse("mlops-prediction-thumbnail", args=[obj.pk])
        style = "height:48px;width:48px;object-fit:cover;border-radius:4px"
        return format_html('<img src="{}" alt="" loading="lazy" style="{}">', thumbnail, style)

    @admin.display(description="photo")
    def image_preview(self, obj):
        if not obj.image:
            return "—"
        return format_html('<img src="{}" alt="" style="max-width:320px;max-height:320px">', obj.image.url)

    @admin.display(description="food", ordering="food__display_name")
    def label_display(self, obj):
        return obj.label

    @admin.display(description="confidence", ordering="confidence")
    def confidence_percent(self, obj):
        return "—" if obj.confidence is None else f"{obj.confidence:.0%} ({obj.confidence_band})"

    @admin.display(description="feedback")
    def feedback_display(self, obj):
        if not obj.has_feedback:
            return "—"
        if obj.feedback_correct:
            return "confirmed"
        return f"→ {obj.feedback_food or obj.feedback_text}"

    @admin.display(description="mirrored", boolean=True)
    def mirrored(self, obj):
        return obj.mirrored_at is not None

    @admin.action(description="Retry mirroring the selected predictions into MLflow")
    def mirror_retry(self, request, queryset):
        from mlops.mirror import predictions_mirror_retry

        count = predictions_mirror_retry(ids=queryset.values_list("id", flat=True))
        self.message_user(request, f"{count} predictions will be mirrored again.")

    @admin.action(description="Export selected predictions as CSV")
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="predictions-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        writer = csv.writer(response)
        writer.writerow(EXPORT_FIELDS)
        for row in queryset.order_by("id").values_list(*EXPORT_FIELDS).iterator(chunk_size=2000):
            writer.writerow([spreadsheet_safe(value) for value in row])
        return response
