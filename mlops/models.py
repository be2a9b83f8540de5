from __future__ import annotations

import os
import socket

from django.conf import settings
from django.db import models

from .experiments.models import Experiment  # noqa: F401  (registered with the mlops app from its own package)


class JobRun(models.Model):
    """The outcome of one run of a background job (mirror batch, drift report, alert check, ...), written by ``mlops.jobs``."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=100, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    items = models.PositiveIntegerField(default=0, help_text="How many things the job handled (predictions mirrored, ...).")
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.name} {self.status} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class MirrorSchedule(models.Model):
    """A single row: when the pending mirror task was published (empty: none is waiting).

    Uploads publish a mirror task only while none is waiting, so the queue holds at most one
    whatever the upload rate; the task empties the mark as it starts.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    published_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"mirror task published at {self.published_at}" if self.published_at else "no mirror task waiting"


class ServingRun(models.Model):
    """The MLflow run that holds the mirrored predictions of one model version on one day."""

    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=50)
    day = models.DateField()
    run_id = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    aggregated_until = models.DateTimeField(
        null=True, blank=True, help_text="Window aggregates are in MLflow for every window that ends by this time (empty: none yet)."
    )
    aggregates_complete = models.BooleanField(default=False, help_text="Every window of the day has its aggregates in MLflow.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model_name", "model_version", "day"], name="serving_run_per_version_day")]

    def __str__(self):
        return f"{self.model_name} v{self.model_version} {self.day}"


class ModelEventManager(models.Manager):
    def record(self, *, kind: str, model_version: str, alias: str = "", message: str = "", model_name: str | None = None) -> ModelEvent:
        """One row of the served model's history (loaded, switched, refused, promoted, rolled back), with host and pid.

        A method of the model (a leaf module) so that serving code in ``predictions`` can record
        events without importing ``mlops.services``, which imports ``predictions``.
        """
        return self.create(
            kind=kind,
            model_name=model_name or settings.MLFLOW_REGISTERED_MODEL_NAME,
            model_version=model_version,
            alias=alias,
            message=message[:5000],
            hostname=socket.gethostname()[:255],
            pid=os.getpid(),
        )


class ModelEvent(models.Model):
    """What happened to the served model in a process: loaded, alias moved, refused (with why)."""

    class Kind(models.TextChoices):
        LOADED = "loaded", "Loaded"
        SWITCHED = "switched", "Switched to a new version"
        REFUSED = "refused", "New version refused"
        PROMOTED = "promoted", "Promoted"
        ROLLED_BACK = "rolled_back", "Rolled back"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=50)
    alias = models.CharField(max_length=50, blank=True)
    message = models.TextField(blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)

    objects = ModelEventManager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        alias = f" ({self.alias})" if self.alias else ""
        when = f" at {self.created_at:%Y-%m-%d %H:%M:%S}" if self.created_at else ""
        return f"{self.get_kind_display()}: {self.model_name} v{self.model_version}{alias}{when}"


class Evaluation(models.Model):
    """Quality of one model version on a labelled set or on user feedback; mirrored as an MLflow evaluation run."""

    class Source(models.TextChoices):
        DATASET = "dataset", "Labelled dataset"
        FEEDBACK = "feedback", "User feedback"
        TRAINING = "training", "Training test split"
        MANUAL = "manual", "Registered through the API"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=50, db_index=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    accuracy = models.FloatField()
    precision = models.FloatField()
    recall = models.FloatField()
    f1_score = models.FloatField()
    sample_count = models.PositiveIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    mlflow_run_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.model_name} v{self.model_version} on {self.get_source_display().lower()}: accuracy {self.accuracy:.3f}"


class DriftReportQuerySet(models.QuerySet):
    def latest_scheduled(self) -> DriftReport | None:
        """The newest periodic report: the one alert rules and the dashboard read (on-demand API reports may use any windows)."""
        return self.filter(scheduled=True).order_by("-created_at", "-id").first()


class DriftReport(models.Model):
    """A stored drift report for a baseline window against a recent window."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    baseline_start = models.DateTimeField()
    baseline_end = models.DateTimeField()
    recent_start = models.DateTimeField()
    recent_end = models.DateTimeField()
    model_version = models.CharField(max_length=50, blank=True)
    drift_detected = models.BooleanField(default=False)
    drift_score = models.FloatField(null=True, blank=True)
    verdict = models.CharField(max_length=20, default="insufficient_data")
    results = models.JSONField(default=dict)
    mlflow_run_id = models.CharField(max_length=64, blank=True)
    scheduled = models.BooleanField(default=False, help_text="Computed by the periodic task (read by alert rules), not on demand.")

    objects = DriftReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["scheduled", "created_at"], name="drift_report_scheduled_idx")]

    def __str__(self):
        version = f" v{self.model_version}" if self.model_version else ""
        return f"Drift report{version} up to {self.recent_end:%Y-%m-%d %H:%M}: {self.verdict}"


class AlertRule(models.Model):
    """A condition on a monitored metric; editable in admin."""

    class Metric(models.TextChoices):
        ERROR_RATE = "error_rate_percent", "Error rate (%)"
        P95_LATENCY = "p95_response_time_seconds", "p95 response time (s)"
        AVG_CONFIDENCE = "avg_confidence", "Average confidence (0-1)"
        DRIFT = "drift_detected", "Drift detected (1 = yes)"
        MIRROR_BACKLOG_AGE = "mirror_backlog_age_seconds", "Age of the oldest unmirrored prediction (s)"
        RETRAINED = "retrained_challenger", "A retrained challenger is ready (opened by retraining, not measured)"

    class Operator(models.TextChoices):
        GT = "gt", ">"
        LT = "lt", "<"

    name = models.CharField(max_length=100, unique=True)
    metric = models.CharField(max_length=40, choices=Metric.choices)
    operator = models.CharField(max_length=2, choices=Operator.choices)
    threshold = models.FloatField()
    window_minutes = models.PositiveIntegerField(default=60)
    enabled = models.BooleanField(default=True)
    email_to = models.CharField(max_length=500, blank=True, help_text="Comma-separated addresses.")
    webhook_url = models.URLField(blank=True)

    def __str__(self):
        return self.name


class Alert(models.Model):
    """One episode of a rule's condition holding: opened once, resolved when it clears."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True, db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Who took the alert on."
    )

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule"], condition=models.Q(status="open"), name="one_open_alert_per_rule"),
        ]

    def __str__(self):
        when = f" opened {self.opened_at:%Y-%m-%d %H:%M}" if self.opened_at else ""
        return f"{self.rule.name} ({self.get_status_display().lower()}){when}"


class AlertDelivery(models.Model):
    """One notification of an alert through one channel, with its outcome."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=10, default="opened")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=500)
    delivered = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        outcome = "delivered" if self.delivered else "failed"
        return f"{self.event} alert {self.alert_id} by {self.channel} to {self.target}: {outcome}"


# The ``hour`` of a rollup row that sums a whole day.
WHOLE_DAY = 24


class PredictionDay(models.Model):
    """Predictions of one UTC day per model version, food and status, summed (mlops/rollups.py keeps it current).

    The all-data monitoring reads these instead of scanning every prediction. ``food_id``
    0 stands for no food (and for failed requests).
    """

    day = models.DateField()
    # 0-23: the predictions of that UTC hour of ``day``; WHOLE_DAY: the whole day (window edges read hours, the rest days).
    hour = models.PositiveSmallIntegerField(default=WHOLE_DAY)
    model_version = models.CharField(max_length=50, blank=True)
    food_id = models.IntegerField(default=0)
    status = models.CharField(max_length=10)
    count = models.PositiveIntegerField(default=0)
    confidence_count = models.PositiveIntegerField(default=0)
    confidence_sum = models.FloatField(default=0.0)
    confidence_square_sum = models.FloatField(default=0.0)
    confidence_min = models.FloatField(null=True)
    confidence_max = models.FloatField(null=True)
    latency_count = models.PositiveIntegerField(default=0)
    latency_sum = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "hour", "model_version", "food_id", "status"], name="prediction_day_unique"),
        ]

    def __str__(self):
        return f"{self.day} v{self.model_version} food {self.food_id} {self.status}: {self.count}"


class ConfidenceDay(models.Model):
    """Successful predictions of one UTC day per model version in 100 confidence bins of width 0.01."""

    day = models.DateField()
    # 0-23: the predictions of that UTC hour of ``day``; WHOLE_DAY: the whole day (window edges read hours, the rest days).
    hour = models.PositiveSmallIntegerField(default=WHOLE_DAY)
    model_version = models.CharField(max_length=50, blank=True)
    bin = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)
    confidence_sum = models.FloatField(default=0.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "hour", "model_version", "bin"], name="confidence_day_unique")]

    def __str__(self):
        return f"{self.day} v{self.model_version} bin {self.bin}: {self.count}"


class LatencyDay(models.Model):
    """Requests of one UTC day per model version in the latency histogram's log-spaced bins (``mlops.percentiles``).

    Rejected and failed requests carry model version "", as in the Prediction table.
    """

    day = models.DateField()
    # 0-23: the predictions of that UTC hour of ``day``; WHOLE_DAY: the whole day (window edges read hours, the rest days).
    hour = models.PositiveSmallIntegerField(default=WHOLE_DAY)
    model_version = models.CharField(max_length=50, blank=True)
    bin = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "hour", "model_version", "bin"], name="latency_day_unique")]

    def __str__(self):
        return f"{self.day} v{self.model_version} latency bin {self.bin}: {self.count}"


class UserDay(models.Model):
    """Successful predictions of one user (or anonymous session) on one UTC day per model version.

    ``user`` is the user's id for a signed-in user, and for an anonymous session minus the first
    60 bits of the session key's sha256 (session keys are credentials): distinct users over
    any run of days are counted exactly from these rows (up to a 60-bit hash collision).
    """

    day = models.DateField()
    # 0-23: the predictions of that UTC hour of ``day``; WHOLE_DAY: the whole day (window edges read hours, the rest days).
    hour = models.PositiveSmallIntegerField(default=WHOLE_DAY)
    model_version = models.CharField(max_length=50, blank=True)
    user = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "hour", "model_version", "user"], name="user_day_unique")]

    def __str__(self):
        return f"{self.day} v{self.model_version} user {self.user}: {self.count}"


class UserTotal(models.Model):
    """Successful predictions of one user (or anonymous session, hashed) per model version, over all time."""

    user_key = models.CharField(max_length=64)
    model_version = models.CharField(max_length=50, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_key", "model_version"], name="user_total_unique")]

    def __str__(self):
        return f"{self.user_key} v{self.model_version}: {self.count}"


class RollupState(models.Model):
    """Where the rollups stand: predictions up to ``last_prediction_id`` are in UserTotal, days before ``complete_before`` are final."""

    name = models.CharField(max_length=50, unique=True)
    last_prediction_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True)
    complete_before = models.DateField(null=True)

    def __str__(self):
        return f"{self.name} refreshed at {self.refreshed_at}"


class PromotionRecord(models.Model):
    """One move of the champion alias made by a person or the CLI: who, when, from, to, why, and the evidence shown.

    Written by ``mlops.lifecycle.promotion`` after the alias moved; it also carries the permission
    that promoting and rolling back require (``mlops.promote_model``).
    """

    class Kind(models.TextChoices):
        PROMOTE = "promote", "Promote"
        ROLLBACK = "rollback", "Roll back"
        OVERRIDE = "override", "Promote over the guardrail"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="Empty for the CLI."
    )
    actor_name = models.CharField(max_length=150, help_text="The user's name at the time, or 'cli'.")
    model_name = models.CharField(max_length=100)
    from_version = models.CharField(max_length=50, blank=True, help_text="The champion before (empty: none).")
    to_version = models.CharField(max_length=50)
    reason = models.TextField()
    evidence = models.JSONField(default=dict, blank=True, help_text="The guardrail's verdict and the evaluations it compared.")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("promote_model", "Can promote and roll back model versions")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.model_name} v{self.from_version or '-'} → v{self.to_version} by {self.actor_name}"


class ServingProcess(models.Model):
    """The heartbeat of one serving process and alias: which version it serves, written by its alias watcher each interval."""

    class Role(models.TextChoices):
        WEB = "web", "Web"
        CELERY = "celery", "Celery worker"

    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=Role.choices)
    alias = models.CharField(max_length=50, help_text="The alias the process follows (champion, ...).")
    model_version = models.CharField(max_length=50, help_text="The version served ('bundled': the fallback weights).")
    model_sha256 = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    switched_at = models.DateTimeField(help_text="When the process loaded or switched to the version it serves.")
    last_seen = models.DateTimeField(db_index=True)
    last_check_error = models.TextField(blank=True)

    class Meta:
        ordering = ["hostname", "pid", "alias"]
        constraints = [models.UniqueConstraint(fields=["hostname", "pid", "alias"], name="serving_process_per_alias")]

    def __str__(self):
        return f"{self.role} {self.hostname}:{self.pid} serves {self.alias} v{self.model_version}"
# Models of the lifecycle packages, registered with the app here (their modules import no other mlops module).
from .labelling.models import Label  # noqa: E402, F401
from .retraining.models import RetrainRun  # noqa: E402, F401
from .shadow.models import ShadowPrediction  # noqa: E402, F401
