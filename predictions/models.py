from django.conf import settings
from django.db import models
from django.db.models import Q


class Food(models.Model):
    """A food the model can name, with nutrition facts per 100 g from USDA FoodData Central."""

    key = models.SlugField(max_length=100, unique=True)
    display_name = models.CharField(max_length=150)
    imagenet_index = models.PositiveSmallIntegerField(null=True, blank=True)
    fdc_id = models.PositiveIntegerField("FoodData Central id", null=True, blank=True)
    fdc_description = models.CharField(max_length=255, blank=True)
    energy_kcal = models.FloatField(null=True, blank=True)
    protein_g = models.FloatField(null=True, blank=True)
    carbohydrate_g = models.FloatField(null=True, blank=True)
    fat_g = models.FloatField(null=True, blank=True)
    fibre_g = models.FloatField(null=True, blank=True)
    nutrition_verified = models.BooleanField(
        default=False, help_text="The FDC id and values were checked against a copy of the USDA tables."
    )

    class Meta:
        ordering = ["display_name"]

    def __str__(self):
        return self.display_name

    @property
    def has_nutrition(self) -> bool:
        return self.energy_kcal is not None

    def nutrition(self) -> dict | None:
        if not self.has_nutrition:
            return None
        return {
            "per_grams": 100,
            "energy_kcal": self.energy_kcal,
            "protein_g": self.protein_g,
            "carbohydrate_g": self.carbohydrate_g,
            "fat_g": self.fat_g,
            "fibre_g": self.fibre_g,
            "source": "USDA FoodData Central",
            "fdc_id": self.fdc_id,
        }


NO_FOOD_LABEL = "no_food"


def feedback_true_label(
    *, predicted_key: str | None, correct: bool | None, feedback_food_key: str | None, feedback_text: str
) -> str | None:
    """The ground truth a user's feedback gives, as a food key; None without usable feedback.

    Confirmed: the food predicted (``NO_FOOD_LABEL`` when none was recognised). Corrected: the
    catalogue food picked, else the typed name keyed like the catalogue ("Pizza" -> "pizza").
    The one definition for monitoring, evaluation and ``Prediction.true_food_key``.
    """
    if correct is None:
        return None
    if correct:
        return predicted_key or NO_FOOD_LABEL
    if feedback_food_key:
        return feedback_food_key
    text = (feedback_text or "").strip()
    if not text:
        return None
    # Imported here: the inference module loads torch, which the ORM layer does not otherwise need.
    from .inference import food_key

    # A name with no ASCII letters or digits keeps its own (lower-cased) spelling rather than vanishing.
    return food_key(text) or text.lower()


def mirror_given_up_condition() -> Q:
    """Of the unmirrored predictions, those MLflow refused ``NUTRILEARN_MIRROR_MAX_ATTEMPTS`` times (the one definition of "given up")."""
    return Q(mirror_attempts__gte=settings.NUTRILEARN_MIRROR_MAX_ATTEMPTS)


# Named conditions shared by the admin filters and the MLOps pages (bands as ``Prediction.confidence_band``).
CONFIDENCE_BANDS: dict[str, tuple[str, Q]] = {
    "good": ("good (> 90 %)", Q(confidence__gt=0.9)),
    "acceptable": ("acceptable (80–90 %)", Q(confidence__gte=0.8, confidence__lte=0.9)),
    "low": ("low (< 80 %)", Q(confidence__lt=0.8)),
}
FEEDBACK_STATES: dict[str, tuple[str, Q]] = {
    "none": ("no feedback", Q(feedback_at__isnull=True)),
    "correct": ("confirmed", Q(feedback_correct=True)),
    "corrected": ("corrected", Q(feedback_correct=False)),
}


class PredictionQuerySet(models.QuerySet):
    def ok(self):
        return self.filter(status=Prediction.Status.OK)

    def unmirrored(self):
        """Successful predictions not in MLflow yet, pending or given up: the rows of the partial index prediction_unmirrored_idx."""
        return self.filter(status=Prediction.Status.OK, mirrored_at__isnull=True)

    def mirror_pending(self):
        """Unmirrored predictions the mirror still tries to send."""
        return self.unmirrored().exclude(mirror_given_up_condition())

    def mirror_given_up(self):
        """Unmirrored predictions the mirror gave up on: kept and shown (admin, health), retried only when staff ask."""
        return self.unmirrored().filter(mirror_given_up_condition())

    def owned_by(self, *, user, session_key: str | None):
        if user is not None and user.is_authenticated:
            return self.filter(user=user)
        if not session_key:
            return self.none()
        return self.filter(user__isnull=True, session_key=session_key)


class Prediction(models.Model):
    """One recognition request: the database row is the record of truth.

    Rejected and failed requests are rows too (status, reason, no image), so that
    error rates are real.
    """

    class Status(models.TextChoices):
        OK = "ok", "OK"
        REJECTED = "rejected", "Rejected (bad input)"
        FAILED = "failed", "Failed (server error)"

    class Source(models.TextChoices):
        WEB = "web", "Web form"
        API = "api", "JSON API"

    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    status_code = models.PositiveSmallIntegerField(default=200)
    reason_code = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)
    source = models.CharField(max_length=5, choices=Source.choices, default=Source.WEB)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="predictions")
    session_key = models.CharField(max_length=40, blank=True, db_index=True)

    # What the model said.
    food = models.ForeignKey(Food, null=True, blank=True, on_delete=models.PROTECT, related_name="predictions")
    confidence = models.FloatField(null=True, blank=True)
    top_k = models.JSONField(default=list, blank=True)
    no_food = models.BooleanField(default=False)
    food_mass = models.FloatField(null=True, blank=True)
    processing_time_seconds = models.FloatField(null=True, blank=True)
    model_name = models.CharField(max_length=100, blank=True)
    model_version = models.CharField(max_length=50, blank=True)
    model_sha256 = models.CharField(max_length=64, blank=True)
    ab_arm = models.CharField("A/B arm", max_length=20, blank=True)
    ab_experiment = models.ForeignKey(
        "mlops.Experiment", null=True, blank=True, on_delete=models.PROTECT, related_name="predictions", verbose_name="A/B experiment"
    )

    # The photo (stored re-encoded, without metadata) and its input statistics.
    image = models.ImageField(upload_to="predictions/%Y/%m/%d/", blank=True, db_index=True)  # looked up by /media/
    image_format = models.CharField(max_length=10, blank=True)
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    image_size_bytes = models.PositiveIntegerField(null=True, blank=True)
    image_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    brightness = models.FloatField(null=True, blank=True)
    contrast = models.FloatField(null=True, blank=True)
    sharpness = models.FloatField(null=True, blank=True)
    quality_hints = models.JSONField(default=list, blank=True)
    embedding = models.BinaryField(null=True, blank=True, editable=False)

    # Ground truth from the user.
    feedback_correct = models.BooleanField(null=True, blank=True)
    feedback_food = models.ForeignKey(Food, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    feedback_text = models.CharField(max_length=100, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)

    # Mirroring into MLflow.
    mirrored_at = models.DateTimeField(null=True, blank=True)
    mlflow_run_id = models.CharField(max_length=64, blank=True)
    mlflow_step = models.BigIntegerField(null=True, blank=True)
    mirror_attempts = models.PositiveIntegerField(default=0)
    mirror_claimed_at = models.DateTimeField(null=True, blank=True)
    mirror_error = models.TextField(blank=True)

    objects = PredictionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="prediction_created_idx"),
            models.Index(fields=["status", "created_at"], name="prediction_status_time_idx"),
            models.Index(fields=["food", "created_at"], name="prediction_food_time_idx"),
            models.Index(fields=["model_version", "created_at"], name="prediction_version_time_idx"),
            models.Index(fields=["user", "created_at"], name="prediction_user_time_idx"),
            models.Index(fields=["feedback_at"], name="prediction_feedback_idx"),
            models.Index(
                fields=["created_at"],
                name="prediction_unmirrored_idx",
                condition=Q(mirrored_at__isnull=True, status="ok"),
            ),
            # Exact confidence medians over all data (and per version) by walking an index. The conditions
            # name no status: SQLite uses a partial index only when the query repeats its condition
            # literally, and Django sends the status as a bound parameter.
            models.Index(fields=["status", "confidence"], name="prediction_status_conf_idx", condition=Q(confidence__isnull=False)),
            models.Index(
                fields=["status", "model_version", "confidence"],
                name="prediction_status_ver_conf_idx",
                condition=Q(confidence__isnull=False),
            ),
            # Covers the feedback reads of the performance and calibration report (a few % of rows).
            models.Index(
                fields=[
                    "created_at", "model_version", "status", "food", "feedback_correct", "feedback_food", "confidence", "feedback_text",
                ],
                name="prediction_feedback_time_idx",
                condition=Q(feedback_correct__isnull=False),
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.label}"

    @property
    def label(self) -> str:
        if self.status != self.Status.OK:
            return self.get_status_display()
        if self.no_food:
            return "No food recognised"
        return self.food.display_name if self.food else "?"

    @property
    def confidence_band(self) -> str | None:
        if self.confidence is None:
            return None
        if self.confidence > 0.9:
            return "good"
        if self.confidence >= 0.8:
            return "acceptable"
        return "low"

    @property
    def has_feedback(self) -> bool:
        return self.feedback_at is not None

    @property
    def is_unsure(self) -> bool:
        """The model named a food with low-band confidence: the page and the API ask instead of answering.

        The one definition of "unsure". "No food recognised" is its own answer, never an unsure one.
        """
        return self.status == self.Status.OK and not self.no_food and self.confidence_band == "low"

    @property
    def needs_confirmation(self) -> bool:
        """Unsure and the user has not said yet what the photo shows."""
        return self.is_unsure and not self.has_feedback

    @property
    def confirmation_choices(self) -> list[dict]:
        """The top foods of an unsure answer as one-tap choices (empty otherwise), each with the feedback
        it stands for: picking the top-1 confirms it (``correct`` true), any other corrects it."""
        if not self.is_unsure:
            return []
        predicted = self.food.key if self.food_id else None
        return [{"food": item["food"], "confidence": item["confidence"], "correct": item["food"] == predicted} for item in self.top_k]

    @property
    def answer_label(self) -> str:
        """The answer as its owner sees it (result page, history): an unsure guess is never shown as the answer."""
        if not self.is_unsure:
            return self.label
        if not self.has_feedback:
            return "Not sure what this is"
        food = self.confirmed_food
        return food.display_name if food else self.feedback_text

    @property
    def confirmed_food(self) -> Food | None:
        """The catalogue food the user said the photo shows (the predicted one when they confirmed it);
        None without feedback, for a typed name, or for a confirmed "no food"."""
        if self.feedback_correct is None:
            return None
        if self.feedback_correct:
            return None if self.no_food else self.food
        return self.feedback_food

    @property
    def true_food_key(self) -> str | None:
        """The ground truth from feedback, if any (``feedback_true_label``)."""
        return feedback_true_label(
            predicted_key=self.food.key if self.food_id else None,
            correct=self.feedback_correct,
            feedback_food_key=self.feedback_food.key if self.feedback_food_id else None,
            feedback_text=self.feedback_text,
        )
