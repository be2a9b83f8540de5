"""The statistics of an A/B test against published answers, and the verdicts on generated data with a known truth."""

import numpy as np
import pytest

from mlops.experiments.statistics import (
    ArmOutcome,
    Verdict,
    accuracy_verdict,
    latency_verdict,
    sample_size_two_proportions,
    two_proportion_z_test,
    wilson_interval,
)

ALPHA = 0.05


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3 (Wilson).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombes_table(successes, trials, low, high):
    interval = wilson_interval(successes, trials)
    assert interval == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_needs_trials():
    assert wilson_interval(0, 0) is None


def test_two_proportion_z_test_matches_the_textbook_computation():
    # 50/100 against 60/100: pooled 0.55, standard error sqrt(0.55 * 0.45 * (1/100 + 1/100)) = 0.070356.
    test = two_proportion_z_test(50, 100, 60, 100)
    assert test.z == pytest.approx(0.1 / 0.070356, rel=1e-4)
    assert test.p_value == pytest.approx(0.1552, abs=1e-4)
    assert test.difference == pytest.approx(0.1)


def test_sample_size_matches_fleiss_formula():
    # 0.5 against 0.6, alpha 0.05 two-sided, power 0.8: (1.95996 * sqrt(2 * 0.55 * 0.45) + 0.84162 * sqrt(0.25 + 0.24))^2 / 0.01 = 387.3.
    assert sample_size_two_proportions(0.5, 0.6) == 388
    assert sample_size_two_proportions(0.6, 0.5) == 388


def test_sample_size_grows_as_the_difference_shrinks_and_the_power_rises():
    assert sample_size_two_proportions(0.8, 0.85) > sample_size_two_proportions(0.8, 0.9) > sample_size_two_proportions(0.8, 0.95)
    assert sample_size_two_proportions(0.8, 0.85, power=0.9) > sample_size_two_proportions(0.8, 0.85)


def test_the_planned_sample_size_gives_about_the_planned_power():
    """Simulated: at the computed size per arm, about 80 % of experiments with that true difference come out significant."""
    rng = np.random.default_rng(20261129)
    needed = sample_size_two_proportions(0.80, 0.85)
    runs = 2000
    champion = rng.binomial(needed, 0.80, size=runs)
    challenger = rng.binomial(needed, 0.85, size=runs)
    significant = sum(two_proportion_z_test(a, needed, b, needed).p_value < ALPHA for a, b in zip(champion, challenger, strict=True))
    assert significant / runs == pytest.approx(0.80, abs=0.04)


def simulated_verdicts(rate_champion: float, rate_challenger: float, *, labelled: int, runs: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    verdicts = []
    for correct_a, correct_b in zip(
        rng.binomial(labelled, rate_champion, runs), rng.binomial(labelled, rate_challenger, runs), strict=True
    ):
        verdict = accuracy_verdict(
            ArmOutcome(labelled=labelled, correct=int(correct_a)),
            ArmOutcome(labelled=labelled, correct=int(correct_b)),
            minimum_effect=0.05,
        )
        verdicts.append(verdict.kind)
    return verdicts


def test_a_clearly_better_challenger_is_called_better():
    verdicts = simulated_verdicts(0.75, 0.85, labelled=800, runs=200, seed=1)
    assert verdicts.count(Verdict.BETTER) / len(verdicts) > 0.95
    assert Verdict.WORSE not in verdicts


def test_a_clearly_worse_challenger_is_called_worse():
    verdicts = simulated_verdicts(0.85, 0.75, labelled=800, runs=200, seed=2)
    assert verdicts.count(Verdict.WORSE) / len(verdicts) > 0.95
    assert Verdict.BETTER not in verdicts


def test_without_a_difference_a_verdict_either_way_is_as_rare_as_alpha():
    verdicts = simulated_verdicts(0.8, 0.8, labelled=1500, runs=400, seed=3)
    false_alarms = (verdicts.count(Verdict.BETTER) + verdicts.count(Verdict.WORSE)) / len(verdicts)
    assert false_alarms < ALPHA + 0.03
    # 1,500 labels per arm is past the 906 needed to see 5 points at 80 %: the rest say there is no difference.
    assert verdicts.count(Verdict.NO_DIFFERENCE) == len(verdicts) - verdicts.count(Verdict.BETTER) - verdicts.count(Verdict.WORSE)


def test_too_few_labels_says_how_many_more_per_arm():
    verdict = accuracy_verdict(ArmOutcome(labelled=100, correct=80), ArmOutcome(labelled=60, correct=50), minimum_effect=0.05)
    assert verdict.kind == Verdict.NOT_YET
    # The observed 3.3 points are under the 5-point minimum effect: the plan is 0.80 against 0.85.
    assert verdict.needed_per_arm == sample_size_two_proportions(0.80, 0.85)
    assert verdict.more_per_arm == verdict.needed_per_arm - 60
    assert verdict.text == f"no significant difference yet — about {verdict.more_per_arm} more labelled predictions per arm needed"


def test_before_any_label_the_estimate_plans_for_the_hardest_rate():
    verdict = accuracy_verdict(ArmOutcome(labelled=0, correct=0), ArmOutcome(labelled=0, correct=0), minimum_effect=0.05)
    assert verdict.kind == Verdict.NOT_YET
    assert verdict.more_per_arm == sample_size_two_proportions(0.5, 0.55)


def test_a_big_observed_difference_on_few_labels_is_not_yet_a_verdict():
    """9 of 10 against 4 of 10 is significant by the z-test, but four wrong answers are too few for its normal approximation."""
    verdict = accuracy_verdict(ArmOutcome(labelled=10, correct=4), ArmOutcome(labelled=10, correct=9), minimum_effect=0.05)
    assert verdict.test.p_value < ALPHA
    assert verdict.kind == Verdict.NOT_YET
    assert verdict.more_per_arm > 0


def test_a_slower_challenger_is_called_slower():
    rng = np.random.default_rng(4)
    champion = rng.lognormal(mean=np.log(0.05), sigma=0.3, size=400)
    text, test = latency_verdict(list(champion), list(champion[:300] * 1.3))
    assert test.p_value < ALPHA
    assert text.startswith("challenger slower")


def test_the_same_latency_distribution_shows_no_difference():
    rng = np.random.default_rng(5)
    text, test = latency_verdict(list(rng.lognormal(np.log(0.05), 0.3, 400)), list(rng.lognormal(np.log(0.05), 0.3, 300)))
    assert test.p_value >= ALPHA
    assert text.startswith("no significant latency difference")


def test_latency_without_timed_predictions_in_an_arm_is_not_compared():
    text, test = latency_verdict([0.1, 0.2], [])
    assert test is None
    assert text == "not enough timed predictions to compare latency"
