"""Feedback figures are cached under the feedback's state: an answer given after a read shows in the next read."""

import pytest

from mlops.selectors import calibration_by_version, feedback_performance
from predictions.services import prediction_feedback_set

from .factories import food_make, predictions_make

pytestmark = pytest.mark.django_db


def test_an_answer_given_after_a_read_changes_the_next_read():
    pizza = food_make("pizza")
    predictions_make(3, food=pizza, confidence=0.8, feedback_correct=True)
    unanswered = predictions_make(1, food=pizza, confidence=0.8)[0]
    before = feedback_performance(start=None, end=None)
    calibration_before = calibration_by_version(start=None, end=None)

    prediction_feedback_set(prediction=unanswered, correct=False, food_text="flatbread")

    after = feedback_performance(start=None, end=None)
    assert (before["per_model_version"][0]["accuracy"], after["per_model_version"][0]["accuracy"]) == (1.0, 0.75)
    assert calibration_by_version(start=None, end=None) != calibration_before


def test_a_changed_answer_changes_the_next_read():
    pizza = food_make("pizza")
    answered = predictions_make(2, food=pizza, confidence=0.8, feedback_correct=True)
    assert feedback_performance(start=None, end=None)["per_model_version"][0]["accuracy"] == 1.0

    prediction_feedback_set(prediction=answered[0], correct=False, food_text="flatbread")

    assert feedback_performance(start=None, end=None)["per_model_version"][0]["accuracy"] == 0.5
