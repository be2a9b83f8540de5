"""Request validation and response shapes of the A/B test API."""

from __future__ import annotations

from rest_framework import serializers

from ..serializers import FreeForm, envelope
from .models import Experiment

VERSION_PATTERN = r"^[1-9][0-9]{0,8}$"


class ExperimentCreate(serializers.Serializer):
    champion_version = serializers.RegexField(VERSION_PATTERN, help_text="The registered version answering most traffic (1, 2, ...).")
    challenger_version = serializers.RegexField(VERSION_PATTERN, help_text="The registered version tried on a share of traffic.")
    challenger_share = serializers.FloatField(
        min_value=0.0, max_value=1.0, help_text="Share of users and sessions sent to the challenger, strictly between 0 and 1 (0.1: 10 %)."
    )
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, help_text="A name people recognise.")

    def validate_challenger_share(self, value: float) -> float:
        if not 0 < value < 1:
            raise serializers.ValidationError("Give a share strictly between 0 and 1, such as 0.1 for 10 %.")
        return value

    def validate(self, attrs: dict) -> dict:
        if attrs["champion_version"] == attrs["challenger_version"]:
            raise serializers.ValidationError({"challenger_version": "The challenger must be another version than the champion."})
        return attrs


class ExperimentSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    stopped_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Experiment
        fields = [
            "id",
            "name",
            "champion_version",
            "challenger_version",
            "challenger_share",
            "status",
            "created_at",
            "created_by",
            "started_at",
            "started_by",
            "stopped_at",
            "stopped_by",
        ]
        read_only_fields = fields


ExperimentListEnvelope = envelope("AbTestList", {"experiments": ExperimentSerializer(many=True), "total": serializers.IntegerField()})
ExperimentEnvelope = envelope("AbTest", {"experiment": ExperimentSerializer()})
ExperimentResultsEnvelope = envelope(
    "AbTestResults",
    {
        "experiment": ExperimentSerializer(),
        "results": FreeForm(
            help_text="arms (champion, challenger: requests, predictions, average_confidence, no_food_share, latency_p50_seconds, "
            "latency_p95_seconds, error_count, error_rate, labelled, correct, accuracy, accuracy_ci95, versions), fallback_count, "
            "accuracy_test, latency_test, verdict (kind, text, needed_per_arm, more_per_arm), latency_verdict, "
            "minimum_detectable_effect, warnings"
        ),
    },
)
