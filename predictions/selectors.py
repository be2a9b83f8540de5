"""Reads of the predictions app."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Food, Prediction


def prediction_list_for_owner(*, user, session_key: str | None) -> QuerySet[Prediction]:
    """The owner's successful predictions, newest first (a user sees only their own)."""
    return Prediction.objects.ok().owned_by(user=user, session_key=session_key).select_related("food", "feedback_food")


def prediction_get_for_owner(*, prediction_id: int, user, session_key: str | None) -> Prediction | None:
    """One of the owner's predictions, or None when it does not exist or is someone else's."""
    return prediction_list_for_owner(user=user, session_key=session_key).filter(pk=prediction_id).first()


def prediction_for_photo(*, path: str, user, session_key: str | None) -> Prediction | None:
    """The prediction whose stored photo is ``path``, when this viewer may see it (staff, or its owner); else None."""
    predictions = Prediction.objects.filter(image=path)
    if user is None or not (user.is_active and user.is_staff):
        predictions = predictions.owned_by(user=user, session_key=session_key)
    return predictions.only("id", "image").first()


def food_list() -> QuerySet[Food]:
    return Food.objects.order_by("display_name")


def foods_by_key(keys: list[str]) -> dict[str, Food]:
    return {food.key: food for food in Food.objects.filter(key__in=keys)}
