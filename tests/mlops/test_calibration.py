import numpy as np
import pytest

from mlops.calibration import (
    accuracy_change_test,
    bin_confidences,
    estimated_accuracy,
    expected_calibration_error,
    reliability_table,
)
from mlops.classification_metrics import macro_scores


def calibrated_sample(size: int, seed: int = 0):
    """Confidences uniform in [0, 1], each prediction right with probability equal to its confidence."""
    rng = np.random.default_rng(seed)
    confidences = rng.uniform(0, 1, size)
    correct = rng.uniform(0, 1, size) < confidences
    return confidences, correct


def test_a_calibrated_model_has_an_ece_near_zero():
    confidences, correct = calibrated_sample(200_000)

    table = reliability_table(*bin_confidences(confidences, correct, bins=10))

    assert expected_calibration_error(table) < 0.01


def test_an_overconfident_model_has_a_large_ece():
    rng = np.random.default_rng(1)
    confidences = rng.uniform(0.9, 1.0, 10_000)
    correct = rng.uniform(0, 1, 10_000) < 0.5

    table = reliability_table(*bin_confidences(confidences, correct, bins=10))

    assert expected_calibration_error(table) == pytest.approx(0.45, abs=0.02)
    assert table[-1].gap == pytest.approx(-0.45, abs=0.02)


def test_reliability_table_has_equal_width_bins_and_puts_one_in_the_last():
    table = reliability_table(*bin_confidences([0.05, 0.55, 1.0, 1.0], [True, False, True, False], bins=4))

    assert [row.as_dict()["bin"] for row in table] == ["0.00-0.25", "0.25-0.50", "0.50-0.75", "0.75-1.00"]
    assert [row.count for row in table] == [1, 0, 1, 2]
    assert table[3].accuracy == 0.5
    assert table[1].mean_confidence is None


def test_ece_of_nothing_is_none():
    assert expected_calibration_error(reliability_table([0, 0], [0.0, 0.0], [0, 0])) is None


def test_calibrated_estimate_corrects_an_overconfident_model_with_its_labelled_bins():
    rng = np.random.default_rng(2)
    labelled_confidences = rng.uniform(0.8, 1.0, 5_000)
    labelled_correct = rng.uniform(0, 1, 5_000) < 0.6
    labelled = reliability_table(*bin_confidences(labelled_confidences, labelled_correct, bins=10))
    recent_confidences = rng.uniform(0.8, 1.0, 3_000)
    counts, sums, _ = bin_confidences(recent_confidences, np.zeros(3_000), bins=10)

    estimate = estimated_accuracy(counts, sums, labelled)

    assert estimate["raw"] == pytest.approx(0.9, abs=0.01)
    assert estimate["calibrated"] == pytest.approx(0.6, abs=0.03)
    assert estimate["prediction_count"] == 3_000


def test_estimate_of_a_calibrated_model_matches_its_true_accuracy():
    confidences, correct = calibrated_sample(50_000, seed=3)
    counts, sums, _ = bin_confidences(confidences, correct, bins=10)

    estimate = estimated_accuracy(counts, sums)

    assert estimate["raw"] == pytest.approx(correct.mean(), abs=0.01)
    assert estimate["calibrated"] is None


def test_macro_scores_match_hand_computed_per_class_figures():
    # truth: a a a b b c ; predicted: a a b b b a
    scores = macro_scores(true_positive={"a": 2, "b": 2}, predicted={"a": 3, "b": 3}, actual={"a": 3, "b": 2, "c": 1})

    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["precision"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert scores["recall"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert scores["f1_score"] == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    assert scores["sample_count"] == 6


def test_macro_scores_average_over_the_true_classes_only():
    # truth: a a b ; predicted: a c c (c is never true: a miss, not a class of its own)
    scores = macro_scores(true_positive={"a": 1}, predicted={"a": 1, "c": 2}, actual={"a": 2, "b": 1})

    assert scores["precision"] == pytest.approx((1 + 0) / 2)
    assert scores["recall"] == pytest.approx((1 / 2 + 0) / 2)
    assert scores["f1_score"] == pytest.approx((2 / 3 + 0) / 2)


def test_a_large_accuracy_change_is_significant_and_a_small_one_is_not():
    large = accuracy_change_test(first_correct=700, first_total=1000, last_correct=800, last_total=1000)
    small = accuracy_change_test(first_correct=70, first_total=100, last_correct=72, last_total=100)

    assert large["p_value"] < 0.001
    assert small["p_value"] > 0.5
    assert accuracy_change_test(first_correct=0, first_total=0, last_correct=1, last_total=1) is None
