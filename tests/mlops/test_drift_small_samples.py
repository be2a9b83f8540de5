"""Drift figures that read right at small samples: the chance-corrected score, PSI without a verdict,
new foods kept in the food test, and a report that says what it did not test."""

from dataclasses import replace
from datetime import timedelta
from statistics import median

import pytest
from django.utils import timezone
from scipy.spatial.distance import jensenshannon

from mlops.drift import (
    DRIFT,
    INSUFFICIENT_DATA,
    NO_DRIFT,
    REPORTED_ONLY,
    DriftConfig,
    UntestedCheck,
    WindowSample,
    chi_square_test,
    drift_analyse,
    jensen_shannon_test,
)
from mlops.drift_reports import drift_report_compute

from .drift_windows import DOMINANT_NEW_FOOD_SHARE, NEW_FOODS, food_shares, window_pair
from .factories import food_make, predictions_make

SIZES = [100, 1000, 20000]


def food_score(seed: int, n: int, *, new_food_share: float = 0.0):
    baseline, recent = window_pair(seed, n, new_food_share=new_food_share)
    return jensen_shannon_test(baseline.food_counts, recent.food_counts, seed=seed)


def true_distance(new_food_share: float) -> float:
    before, after = food_shares(0.0), food_shares(new_food_share)
    return float(jensenshannon([before[food] for food in after], list(after.values()), base=2))


# The drift score -----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_drift_score_of_unchanged_windows_is_about_zero_whatever_their_size():
    # The plug-in distance is 0.42 at 100 predictions per window, 0.13 at 1,000 and 0.03 at 20,000.
    medians = {n: median(food_score(seed, n).distance for seed in range(20)) for n in SIZES}

    assert max(medians.values()) < 0.05, medians


@pytest.mark.slow
def test_the_drift_score_of_a_real_shift_is_the_same_at_every_window_size():
    expected = true_distance(0.3)  # 0.41

    medians = {n: median(food_score(seed, n, new_food_share=0.3).distance for seed in range(20)) for n in SIZES}

    assert medians == pytest.approx(dict.fromkeys(SIZES, expected), abs=0.03)


@pytest.mark.slow
def test_unchanged_windows_pass_the_chance_level_about_one_time_in_twenty():
    scores = [food_score(seed, 100) for seed in range(40)]

    above = [score for score in scores if score.distance > score.details["chance_distance"]]

    assert len(above) <= 5  # 2 expected
    assert all(score.details["chance_distance"] > score.threshold for score in scores)  # small windows say how noisy they are


def test_the_raw_distance_and_the_sample_sizes_stay_beside_the_score():
    score = food_score(3, 100)

    assert score.statistic == score.details["raw_distance"]
    assert score.statistic > 0.3 > score.distance
    assert (score.n_baseline, score.n_recent) == (100, 100)


def test_the_food_test_gives_the_same_figures_for_the_same_seed():
    baseline, recent = window_pair(4, 500)

    first = drift_analyse(baseline=baseline, recent=recent, config=DriftConfig(seed=7)).check("prediction")
    again = drift_analyse(baseline=baseline, recent=recent, config=DriftConfig(seed=7)).check("prediction")

    assert first.as_dict() == again.as_dict()


# PSI -----------------------------------------------------------------------------------------


def test_psi_of_small_unchanged_windows_is_large_but_decides_nothing():
    baseline, recent = window_pair(5, 100)

    analysis = drift_analyse(baseline=baseline, recent=recent)

    food_psi = analysis.check("prediction").test("psi")
    confidence_psi = analysis.check("confidence").test("psi")
    assert food_psi.statistic > food_psi.threshold  # empty categories smoothed to 1e-4 inflate it
    assert (food_psi.verdict, confidence_psi.verdict) == (REPORTED_ONLY, REPORTED_ONLY)
    assert analysis.check("prediction").verdict == NO_DRIFT


# New foods -----------------------------------------------------------------------------------


def test_foods_seen_only_in_the_recent_window_keep_their_own_column_in_the_food_test():
    baseline, recent = window_pair(6, 100, new_food_share=DOMINANT_NEW_FOOD_SHARE)

    result = chi_square_test(baseline.food_counts, recent.food_counts)

    assert set(NEW_FOODS) <= set(result.details["new_categories"])
    assert result.details["categories"] == len(set(baseline.food_counts) | set(recent.food_counts))
    assert result.details["method"] == "monte_carlo_permutation"


def test_three_new_dominant_foods_are_detected_at_100_predictions_per_window():
    # Each new food takes 8 % of the recent window; pooling them into "__other__" caught 7 of these 20.
    detected = []
    for seed in range(20):
        baseline, recent = window_pair(seed, 100, new_food_share=DOMINANT_NEW_FOOD_SHARE)
        analysis = drift_analyse(baseline=baseline, recent=recent, config=DriftConfig(seed=seed))
        detected.append(analysis.check("prediction").verdict == DRIFT)

    assert sum(detected) >= 17


# What a report did not test ------------------------------------------------------------------


def test_the_bonferroni_divisor_counts_only_the_checks_that_ran():
    baseline, recent = window_pair(7, 200)  # food, confidence and brightness; no embeddings recorded

    analysis = drift_analyse(baseline=baseline, recent=recent, config=DriftConfig(alpha=0.06))

    assert analysis.checks_tested == 3
    assert analysis.alpha_per_check == pytest.approx(0.02)
    assert analysis.check("embedding").verdict == INSUFFICIENT_DATA
    assert analysis.untested == [UntestedCheck("embedding", "too few values (0 in the baseline window, 0 in the recent window, 30 needed)")]


def test_a_quantity_recorded_in_one_window_only_is_reported_as_untested():
    baseline, recent = window_pair(8, 200)
    confidence_only = {"confidence": recent.numeric["confidence"]}
    recent = WindowSample(food_counts=recent.food_counts, numeric=confidence_only, embeddings=recent.embeddings)

    analysis = drift_analyse(baseline=baseline, recent=recent, config=DriftConfig(alpha=0.06))

    assert analysis.check("brightness").verdict == INSUFFICIENT_DATA
    assert UntestedCheck("brightness", "missing from the recent window") in analysis.untested
    assert analysis.alpha_per_check == pytest.approx(0.03)  # food and confidence
    assert {"name": "brightness", "reason": "missing from the recent window"} in analysis.as_dict()["untested_checks"]


@pytest.mark.django_db
def test_a_stored_report_says_what_it_did_not_test_and_shows_the_score_with_its_chance_level(settings):
    settings.NUTRILEARN_DRIFT_ALPHA = 0.06
    now = timezone.now()
    pizza, soup = food_make("pizza"), food_make("soup")
    # Older rows have no image statistics; recent ones have their brightness. Nobody stored embeddings.
    predictions_make(40, at=now - timedelta(days=10), food=pizza, spacing=timedelta(minutes=5))
    predictions_make(40, at=now - timedelta(days=10, hours=-4), food=soup, spacing=timedelta(minutes=5))
    predictions_make(40, at=now - timedelta(days=2), food=pizza, spacing=timedelta(minutes=5), brightness=0.5)
    predictions_make(40, at=now - timedelta(days=2, hours=-4), food=soup, spacing=timedelta(minutes=5), brightness=0.4)

    report = drift_report_compute(
        baseline_start=now - timedelta(days=14), baseline_end=now - timedelta(days=7), recent_start=now - timedelta(days=7), recent_end=now
    )

    untested = {entry["name"]: entry["reason"] for entry in report.results["untested_checks"]}
    assert untested["brightness"] == "too few values (0 in the baseline window, 80 in the recent window, 30 needed)"
    assert set(untested) == {"brightness", "contrast", "sharpness", "width", "height", "aspect", "embedding"}
    assert report.results["checks_tested"] == 2
    assert report.results["alpha_per_check"] == pytest.approx(0.03)
    assert report.results["recommendation"] == (
        "Model is stable: no check found drift between the windows. Not tested: "
        "brightness: too few values (0 in the baseline window, 80 in the recent window, 30 needed); "
        "contrast, sharpness, width, height, aspect, embedding: "
        "too few values (0 in the baseline window, 0 in the recent window, 30 needed)."
    )
    assert report.drift_score == 0.0  # the same two foods in the same shares
    assert report.results["drift_score_raw"] == 0.0
    assert report.results["drift_score_chance"] > 0.0
    assert report.results["drift_score_samples"] == {"baseline": 80, "recent": 80}


def test_the_config_seed_drives_the_food_permutations():
    baseline, recent = window_pair(9, 100, new_food_share=0.1)

    first, second = (
        drift_analyse(baseline=baseline, recent=recent, config=replace(DriftConfig(), seed=seed)).check("prediction") for seed in (1, 2)
    )

    assert first.test("chi_square").p_value != second.test("chi_square").p_value
    assert first.test("chi_square").statistic == second.test("chi_square").statistic
