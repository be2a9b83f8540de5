"""One retraining: what triggered it (report, performance), which labels and images it used, and what it produced."""

from __future__ import annotations

from django.db import models


class RetrainRun(models.Model):
    """A trigger that passed the checks (enough new labels, outside the cooldown) and the training it started."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    triggers = models.JSONField(default=list, help_text="Why: drift, feedback accuracy down, label-free estimate down (with figures).")
    drift_report = models.ForeignKey("mlops.DriftReport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    champion_version = models.CharField(max_length=50, blank=True)
    base_dataset = models.CharField(max_length=500, blank=True)
    label_ids = models.JSONField(default=list, help_text="The labels exported for this training.")
    image_count = models.PositiveIntegerField(default=0)
    images_sha256 = models.CharField(max_length=64, blank=True, help_text="sha256 over the sorted (class, photo sha256) list used.")
    model_version = models.CharField(max_length=50, blank=True, help_text="The challenger version it registered.")
    challenger_evaluation = models.ForeignKey("mlops.Evaluation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    champion_evaluation = models.ForeignKey("mlops.Evaluation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    alert = models.ForeignKey("mlops.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    promoted = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"retraining {self.pk} ({self.status})"
