"""The value of a label (uncertainty sampling), computed from what is stored about a prediction."""

import pytest

from mlops.labelling.value import DISAGREEMENT_BONUS, label_value, top1_margin


def value(top_k=(), *, no_food=False, food_mass=0.9, disagreement=False, drift_photo=False):
    return label_value(
        top_k=[{"food": f"f{index}", "confidence": c} for index, c in enumerate(top_k)],
        no_food=no_food,
        food_mass=food_mass,
        food_mass_threshold=0.1,
        disagreement=disagreement,
        drift_photo=drift_photo,
    )


def test_the_margin_is_the_lead_of_the_top_answer_over_the_next_whatever_the_order():
    assert top1_margin([{"confidence": 0.3}, {"confidence": 0.5}, {"confidence": 0.1}]) == 0.2
    assert top1_margin([{"confidence": 0.7}]) == 0.7
    assert top1_margin([]) == 0.0


def test_a_narrow_lead_is_worth_more_than_a_low_but_clear_answer():
    assert value([0.34, 0.33, 0.2]).score > value([0.45, 0.05]).score > value([0.95, 0.01]).score


def test_no_food_is_worth_more_the_closer_its_food_mass_came_to_the_threshold():
    near = value(no_food=True, food_mass=0.09)
    far = value(no_food=True, food_mass=0.01)
    assert near.score > far.score
    assert "no food" in near.reasons[0]


def test_a_disagreement_outranks_any_uncertainty_and_a_drift_photo_adds_to_it():
    confident_but_disputed = value([0.99, 0.01], disagreement=True)
    assert confident_but_disputed.score > value([0.2, 0.2]).score
    assert confident_but_disputed.score - value([0.99, 0.01]).score == pytest.approx(DISAGREEMENT_BONUS)
    assert value([0.5, 0.1], drift_photo=True).score > value([0.5, 0.1]).score
    assert value([0.5, 0.1], drift_photo=True, disagreement=True).reasons[1:] == ["shadow disagreement", "drift photo"]
