"""Query and body validation of the monitoring API, and the response shapes for the OpenAPI schema."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from .selectors import HISTORY_METRICS


class WindowQuery(serializers.Serializer):
    """Filters every monitoring endpoint accepts."""

    start = serializers.DateTimeField(
        required=False, help_text="Only data created at or after this time (ISO 8601 date-time or date); must be before end."
    )
    end = serializers.DateTimeField(
        required=False, help_text="Only data created before this time (ISO 8601 date-time or date); must be after start."
    )
    model_version = serializers.RegexField(
        r"^[A-Za-z0-9_.\-]+$", required=False, max_length=50, help_text="Only this model version (ASCII letters, digits, '.', '_', '-')."
    )

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["start"] >= attrs["end"]:
            raise serializers.ValidationError({"end": "end must be after start."})
        return attrs


class RunsQuery(WindowQuery):
    RUN_TYPES = ("prediction", "serving", "training", "evaluation", "drift")

    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=500)
    run_type = serializers.ChoiceField(
        choices=RUN_TYPES,
        required=False,
        help_text="prediction (or serving): the most recent predictions from the database, shaped like the original runs; "
        "training, evaluation, drift: MLflow runs with that run_type tag. Omitted: MLflow runs of every type.",
    )


class ConfidenceQuery(WindowQuery):
    bins = serializers.IntegerField(required=False, default=10, min_value=5, max_value=50)


class PerformanceQuery(WindowQuery):
    bins = serializers.IntegerField(required=False, default=10, min_value=5, max_value=50, help_text="Bins of the reliability tables.")


class DriftQuery(WindowQuery):
    window_days = serializers.IntegerField(required=False, default=7, min_value=1, max_value=90, help_text="Length of the recent window.")
    threshold = serializers.FloatField(
        required=False,
        default=lambda: settings.NUTRILEARN_DRIFT_THRESHOLD,
        min_value=0.01,
        max_value=1.0,
        help_text="Jensen-Shannon distance of the food shares above which drift is flagged (default: the "
        "NUTRILEARN_DRIFT_THRESHOLD setting, 0.15 unless configured).",
    )
    baseline_days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=365,
        help_text="Days of the baseline window just before the recent one (default: 4 x window_days, the scheduled report's ratio).",
    )


class HealthQuery(WindowQuery):
    window_minutes = serializers.IntegerField(
        required=False, default=60, min_value=1, max_value=60 * 24 * 366, help_text="The last N minutes, when start is not given."
    )


class MetricHistoryQuery(WindowQuery):
    metric_name = serializers.ChoiceField(choices=HISTORY_METRICS)
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)


class RegisterModelRequest(serializers.Serializer):
    model_version = serializers.RegexField(
        r"^[1-9][0-9]{0,8}$", help_text="A version of the registered model, as the registry numbers them (1, 2, ...)."
    )
    # The names MLflow's registry accepts: no '/' or ':', and none that a path would resolve to another name ('.', '..x').
    model_name = serializers.RegexField(
        r"^[^/:.\s][^/:]*$",
        max_length=100,
        required=False,
        help_text="Registered model name (default: the served model's); it must be in the registry. No '/' or ':'; not starting with '.'.",
    )
    accuracy = serializers.FloatField(min_value=0.0, max_value=1.0)
    precision = serializers.FloatField(min_value=0.0, max_value=1.0)
    recall = serializers.FloatField(min_value=0.0, max_value=1.0)
    f1_score = serializers.FloatField(min_value=0.0, max_value=1.0)
    sample_count = serializers.IntegerField(required=False, min_value=1, help_text="How many labelled samples the figures rest on.")
    details = serializers.DictField(required=False, help_text="Anything else worth keeping with the evaluation (dataset, notes).")


def envelope(name: str, fields: dict):
    """A {"status": "success", ...} response shape for the schema: one object, also for a viewset's ``list`` action."""
    serializer_class = type(name, (serializers.Serializer,), {"status": serializers.CharField(default="success"), **fields})
    return extend_schema_serializer(many=False)(serializer_class)()


FreeForm = serializers.JSONField
Timestamp = serializers.DateTimeField

ExperimentsEnvelope = envelope("MlopsExperiments", {"experiments": FreeForm(), "tracking_uri": serializers.CharField()})
RunsEnvelope = envelope("MlopsRuns", {"runs": FreeForm(), "total": serializers.IntegerField(), "limit": serializers.IntegerField()})
MetricsEnvelope = envelope(
    "MlopsMetrics",
    {"metrics": FreeForm(help_text="overview, confidence, top_foods (name -> count), top_foods_ranked, predictions_by_day, timestamp")},
)
ModelVersionsEnvelope = envelope("MlopsModelVersions", {"model_versions": FreeForm(), "total": serializers.IntegerField()})
RegisterModelEnvelope = envelope(
    "MlopsRegisterModel",
    {
        "message": serializers.CharField(),
        "run_id": serializers.CharField(),
        "metrics": FreeForm(),
        "evaluation_id": serializers.IntegerField(),
    },
)
DataEnvelope = envelope("MlopsData", {"data": FreeForm()})
MetricHistoryEnvelope = envelope(
    "MlopsMetricHistory", {"metric_name": serializers.CharField(), "data": FreeForm(), "total_points": serializers.IntegerField()}
)
