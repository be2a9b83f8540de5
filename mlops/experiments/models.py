"""The Experiment row: a champion version against a challenger version on a share of live traffic."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Experiment(models.Model):
    """An A/B test. Draft, then running, then stopped; at most one running at a time (a partial unique index).

    Each Prediction made while it runs points at it (``Prediction.ab_experiment``) with its arm.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    name = models.CharField(max_length=100, blank=True)
    champion_version = models.CharField(max_length=50)
    challenger_version = models.CharField(max_length=50)
    challenger_share = models.FloatField(help_text="Share of users and sessions sent to the challenger, strictly between 0 and 1.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="running"), name="one_running_experiment"),
            models.CheckConstraint(
                condition=Q(challenger_share__gt=0) & Q(challenger_share__lt=1), name="experiment_share_between_0_and_1"
            ),
            models.CheckConstraint(condition=~Q(champion_version=F("challenger_version")), name="experiment_versions_differ"),
        ]

    def __str__(self):
        label = self.name or f"experiment {self.pk}"
        return f"{label}: v{self.champion_version} vs v{self.challenger_version} ({self.challenger_share:.0%}, {self.status})"
