"""The challenger's answer to a stored photo, beside the champion's, and a person's verdict when they disagree."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from predictions.models import Food, Prediction


class ShadowPrediction(models.Model):
    """The shadow (challenger) model's answer for one prediction; at most one per prediction."""

    class Verdict(models.TextChoices):
        CHAMPION = "champion", "The champion was right"
        CHALLENGER = "challenger", "The challenger was right"
        NEITHER = "neither", "Neither was right"

    prediction = models.OneToOneField(Prediction, on_delete=models.CASCADE, related_name="shadow")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=50, db_index=True)
    model_sha256 = models.CharField(max_length=64, blank=True)
    food = models.ForeignKey(Food, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    no_food = models.BooleanField(default=False)
    confidence = models.FloatField(null=True, blank=True)
    food_mass = models.FloatField(null=True, blank=True)
    top_k = models.JSONField(default=list, blank=True)
    processing_time_seconds = models.FloatField(null=True, blank=True)
    agrees = models.BooleanField(help_text="Both models gave the same answer (the same food, or both no food).")
    verdict = models.CharField(max_length=10, choices=Verdict.choices, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agrees", "created_at"], name="shadow_agrees_time_idx")]

    def __str__(self):
        return f"shadow of prediction {self.prediction_id} by version {self.model_version}"

    @property
    def label(self) -> str:
        if self.no_food:
            return "No food recognised"
        return self.food.display_name if self.food else "?"
