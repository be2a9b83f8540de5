"""The labelled set: one row per label, whoever gave it (a user's feedback, a staff member in the queue or a shadow review)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from predictions.models import NO_FOOD_LABEL, Food, Prediction


class Label(models.Model):
    """What a person said a prediction's photo shows: a food (catalogue key, or a typed name keyed alike) or "not food".

    A user's own answer is one row per prediction (replaced when they answer again); staff labels
    accumulate, the latest standing. ``food_key`` is the class folder the export writes the photo to.
    """

    class Source(models.TextChoices):
        USER_FEEDBACK = "user_feedback", "User feedback"
        UNSURE_CHOICE = "unsure_choice", "User's choice for an unsure answer"
        STAFF_QUEUE = "staff_queue", "Staff labelling queue"
        SHADOW_REVIEW = "shadow_review", "Shadow disagreement review"

    USER_SOURCES = (Source.USER_FEEDBACK, Source.UNSURE_CHOICE)
    STAFF_SOURCES = (Source.STAFF_QUEUE, Source.SHADOW_REVIEW)

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="labels")
    source = models.CharField(max_length=20, choices=Source.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    food_key = models.CharField(max_length=100, help_text=f"The food the photo shows, as a catalogue key; {NO_FOOD_LABEL!r} = not food.")
    food = models.ForeignKey(Food, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    food_text = models.CharField(max_length=100, blank=True, help_text="The name as typed, for a food the catalogue lacks.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["prediction", "created_at"], name="label_prediction_time_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["prediction"], condition=Q(source__in=["user_feedback", "unsure_choice"]), name="one_user_label_per_prediction"
            ),
        ]

    def __str__(self):
        return f"prediction {self.prediction_id}: {self.food_key} ({self.get_source_display()})"

    @property
    def not_food(self) -> bool:
        return self.food_key == NO_FOOD_LABEL
