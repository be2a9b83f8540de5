"""Drift statistics on generated arrays: one known answer per statistic, then our rules (pooling, thresholds,
Bonferroni, insufficient data), detection of known shifts and the false-alarm rate."""

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlops.drift import (
    DRIFT,
    INSUFFICIENT_DATA,
    NO_DRIFT,
    REPORTED_ONLY,
    DriftConfig,
    WindowSample,
    chi_square_test,
    drift_analyse,
    food_distribution_check,
    jensen_shannon_test,
    ks_test,
    median_heuristic_bandwidth,
    mmd_statistic,
    mmd_test,
    numeric_check,
    population_stability_index,
    quantile_bin_counts,
    wasserstein_test,
)

FOODS = [f"food{i}" for i in range(30)]
ZIPF = (1 / np.arange(1, len(FOODS) + 1)) / (1 / np.arange(1, len(FOODS) + 1)).sum()


def window(rng: np.random.Generator, n: int, *, food_shares=ZIPF, confidence_a=8.0, brightness_mean=0.5, embedding_shift=0.0):
    """One window of n predictions: Zipf-like food shares, Beta confidences, image statistics, unit embeddings."""
    foods = rng.choice(len(FOODS), size=n, p=food_shares)
    counts = {FOODS[i]: int(c) for i, c in enumerate(np.bincount(foods, minlength=len(FOODS))) if c}
    width = rng.choice([640.0, 1024.0, 3024.0], size=n)
    height = rng.choice([480.0, 768.0, 4032.0], size=n)
    numeric = {
        "confidence": rng.beta(confidence_a, 2.0, size=n),
        "brightness": rng.normal(brightness_mean, 0.15, size=n),
        "contrast": rng.normal(0.2, 0.05, size=n),
        "sharpness": rng.lognormal(-6.0, 0.5, size=n),
        "width": width,
        "height": height,
        "aspect": width / height,
    }
    embeddings = rng.normal(size=(n, 64))
    embeddings[:, 0] += embedding_shift
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return WindowSample(food_counts=counts, numeric=numeric, embeddings=embeddings.astype(np.float32))


def table(baseline: dict, recent: dict) -> np.ndarray:
    keys = sorted(set(baseline) | set(recent))
    return np.array([[baseline.get(k, 0) for k in keys], [recent.get(k, 0) for k in keys]], dtype=float)


# One known answer per statistic (scipy's, or the definition where scipy has none) ------------


def test_chi_square_matches_scipy_chi2_contingency_on_a_table_where_the_asymptotic_p_value_holds():
    baseline = {"pizza": 120, "sushi": 80, "ramen": 60, "salad": 40}
    recent = {"pizza": 90, "sushi": 95, "ramen": 70, "salad": 45}

    result = chi_square_test(baseline, recent)
    expected = stats.chi2_contingency(table(baseline, recent))

    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert 0.05 < expected.pvalue < 0.15  # away from the edges, so the comparison means something
    assert result.p_value == pytest.approx(expected.pvalue, abs=0.02)  # Monte Carlo: standard error 0.006 at 2,000 draws
    assert result.details["dof"] == 3
    assert (result.n_baseline, result.n_recent) == (300, 300)


def test_a_food_seen_only_in_the_recent_window_counts_zero_in_the_baseline():
    baseline = {"pizza": 150, "sushi": 150}
    recent = {"pizza": 100, "sushi": 100, "tacos": 100}

    result = chi_square_test(baseline, recent, permutations=2000)
    expected = stats.chi2_contingency(np.array([[150, 150, 0], [100, 100, 100]]))

    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(1 / 2001)  # no relabelling comes close: the smallest p-value 2,000 draws give
    assert result.details["new_categories"] == ["tacos"]
    assert result.verdict == DRIFT


def test_jensen_shannon_distance_matches_its_definition_in_bits():
    baseline = {"pizza": 50, "sushi": 30, "ramen": 20}
    recent = {"pizza": 20, "sushi": 30, "tacos": 50}
    p = np.array([50, 0, 20, 30]) / 100
    q = np.array([20, 50, 0, 30]) / 100
    m = (p + q) / 2

    result = jensen_shannon_test(baseline, recent)

    by_definition = np.sqrt(0.5 * stats.entropy(p, m, base=2) + 0.5 * stats.entropy(q, m, base=2))
    assert result.statistic == pytest.approx(by_definition, rel=1e-12)
    assert result.verdict == DRIFT


def test_psi_is_the_symmetric_kullback_leibler_divergence_of_the_shares():
    baseline = {"pizza": 50, "sushi": 30, "ramen": 20}
    recent = {"pizza": 40, "sushi": 35, "ramen": 25}
    p = np.array([50, 30, 20]) / 100
    q = np.array([40, 35, 25]) / 100

    result = population_stability_index(baseline, recent)

    assert result.statistic == pytest.approx(stats.entropy(q, p) + stats.entropy(p, q), rel=1e-12)
    assert result.verdict == REPORTED_ONLY


def test_psi_of_a_food_missing_from_one_window_is_large_but_finite():
    result = population_stability_index({"pizza": 100, "sushi": 100}, {"pizza": 100, "tacos": 100})

    assert np.isfinite(result.statistic)
    assert result.statistic > 2.0
    assert result.verdict == REPORTED_ONLY


def test_ks_matches_scipy_ks_2samp():
    rng = np.random.default_rng(1)
    baseline, recent = rng.normal(0, 1, 80), rng.normal(0.3, 1, 70)

    result = ks_test(baseline, recent)
    expected = stats.ks_2samp(baseline, recent)

    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)


def test_ks_ignores_missing_values():
    rng = np.random.default_rng(2)
    baseline, recent = rng.normal(0, 1, 100), rng.normal(0, 1, 100)
    with_gaps = np.concatenate([baseline, [np.nan, np.nan]])

    result = ks_test(with_gaps, recent)

    assert result.n_baseline == 100
    assert result.p_value == pytest.approx(stats.ks_2samp(baseline, recent).pvalue)


def test_wasserstein_distance_is_scipys_divided_by_the_baseline_standard_deviation():
    rng = np.random.default_rng(3)
    baseline, recent = rng.normal(10, 2, 500), rng.normal(11, 2, 400)

    result = wasserstein_test(baseline, recent)

    assert result.statistic == pytest.approx(stats.wasserstein_distance(baseline, recent))
    assert result.distance == pytest.approx(stats.wasserstein_distance(baseline, recent) / np.std(baseline, ddof=1))
    assert result.distance == pytest.approx(0.5, abs=0.1)
    assert result.verdict == DRIFT


def test_wasserstein_distance_of_two_identical_constants_is_zero():
    result = wasserstein_test(np.full(50, 0.3), np.full(50, 0.3))

    assert result.distance == 0.0
    assert result.verdict == NO_DRIFT


def test_numeric_psi_bins_are_cut_at_baseline_deciles():
    rng = np.random.default_rng(4)
    baseline = rng.uniform(size=1000)

    b_counts, r_counts = quantile_bin_counts(baseline, rng.uniform(size=1000), bins=10)

    assert list(b_counts.values()) == [100] * 10
    assert sum(r_counts.values()) == 1000


def test_mmd_statistic_matches_a_direct_double_sum():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(12, 4)), rng.normal(0.5, 1, size=(9, 4))
    bandwidth = 1.7

    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * bandwidth**2))

    xx = sum(k(x[i], x[j]) for i in range(12) for j in range(12) if i != j) / (12 * 11)
    yy = sum(k(y[i], y[j]) for i in range(9) for j in range(9) if i != j) / (9 * 8)
    xy = sum(k(x[i], y[j]) for i in range(12) for j in range(9)) / (12 * 9)

    assert mmd_statistic(x, y, bandwidth=bandwidth) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)


def test_median_heuristic_is_the_median_pairwise_distance():
    rng = np.random.default_rng(6)
    points = rng.normal(size=(40, 3))
    pairs = [np.linalg.norm(points[i] - points[j]) for i in range(40) for j in range(i + 1, 40)]

    assert median_heuristic_bandwidth(points) == pytest.approx(np.median(pairs))


def test_mmd_permutation_p_value_agrees_with_scipy_permutation_test():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(40, 8)), rng.normal(size=(40, 8))
    y[:, 0] += 0.45
    pooled = np.vstack([x, y])
    bandwidth = median_heuristic_bandwidth(pooled)

    result = mmd_test(x, y, permutations=2000, seed=1)
    reference = stats.permutation_test(
        (np.arange(40), np.arange(40, 80)),
        lambda a, b: mmd_statistic(pooled[a], pooled[b], bandwidth=bandwidth),
        permutation_type="independent",
        alternative="greater",
        n_resamples=2000,
        vectorized=False,
        rng=np.random.default_rng(2),
    )

    assert result.statistic == pytest.approx(reference.statistic)
    assert 0.01 < reference.pvalue < 0.5  # a p-value away from the edges, so the comparison means something
    assert result.p_value == pytest.approx(reference.pvalue, abs=0.03)


# Our rules: significance and effect size, Bonferroni -----------------------------------------


def test_a_check_says_drift_only_when_its_test_is_significant_and_its_effect_exceeds_the_threshold():
    baseline = {"pizza": 60, "sushi": 40}
    recent = {"pizza": 45, "sushi": 55}  # chi-square p = 0.047, Jensen-Shannon distance 0.128

    significant_and_large = food_distribution_check(baseline, recent, config=DriftConfig(js_threshold=0.1), alpha=0.05)
    significant_but_small = food_distribution_check(baseline, recent, config=DriftConfig(js_threshold=0.15), alpha=0.05)
    large_but_not_significant = food_distribution_check(baseline, recent, config=DriftConfig(js_threshold=0.1), alpha=0.01)

    assert significant_and_large.verdict == DRIFT
    assert (significant_but_small.verdict, large_but_not_significant.verdict) == (NO_DRIFT, NO_DRIFT)


def test_a_report_tests_each_check_at_alpha_divided_by_its_number_of_checks():
    # Significant at 0.05 on its own, not at 0.05 / 2 (the food check and the brightness check both run).
    rng = np.random.default_rng(3)
    brightness = {"numeric": {"brightness": rng.normal(0.5, 0.1, 100)}, "embeddings": np.zeros((0, 0))}
    unchanged = {"numeric": {"brightness": rng.normal(0.5, 0.1, 100)}, "embeddings": np.zeros((0, 0))}
    baseline = WindowSample(food_counts={"pizza": 60, "sushi": 40}, **brightness)
    recent = WindowSample(food_counts={"pizza": 45, "sushi": 55}, **unchanged)

    analysis = drift_analyse(baseline=baseline, recent=recent, config=DriftConfig(alpha=0.05, js_threshold=0.1))

    assert analysis.alpha_per_check == 0.025
    assert analysis.check("prediction").test("chi_square").threshold == 0.025
    assert analysis.verdict == NO_DRIFT


def test_a_significant_numeric_shift_smaller_than_the_distance_threshold_is_not_drift():
    # A twentieth of a standard deviation: KS finds it in 20,000 values, Wasserstein / std stays below 0.1.
    rng = np.random.default_rng(14)
    baseline, recent = rng.normal(0.0, 1.0, 20_000), rng.normal(0.05, 1.0, 20_000)

    check = numeric_check("brightness", baseline, recent, config=DriftConfig(), alpha=0.05)

    assert check.test("ks").verdict == DRIFT
    assert check.test("wasserstein").distance < 0.1
    assert check.verdict == NO_DRIFT


# Too little data ------------------------------------------------------------------------------


def test_every_test_says_insufficient_data_below_the_minimum_sample_size():
    rng = np.random.default_rng(8)
    small, large = rng.normal(size=29), rng.normal(5, 1, size=500)
    counts_small, counts_large = {"pizza": 29}, {"sushi": 500}

    results = [
        chi_square_test(counts_small, counts_large, min_samples=30),
        jensen_shannon_test(counts_small, counts_large, min_samples=30),
        population_stability_index(counts_small, counts_large, min_samples=30),
        ks_test(small, large, min_samples=30),
        wasserstein_test(small, large, min_samples=30),
        mmd_test(small.reshape(-1, 1), large.reshape(-1, 1), min_samples=30),
    ]

    assert [r.verdict for r in results] == [INSUFFICIENT_DATA] * 6
    assert [r.p_value for r in results] == [None] * 6
    assert [(r.n_baseline, r.n_recent) for r in results] == [(29, 500)] * 6


def test_a_report_on_small_windows_is_insufficient_data_and_not_drift():
    rng = np.random.default_rng(9)

    analysis = drift_analyse(baseline=window(rng, 20), recent=window(rng, 20, brightness_mean=0.9, food_shares=ZIPF[::-1]))

    assert analysis.verdict == INSUFFICIENT_DATA
    assert analysis.drift_detected is False
    assert analysis.drift_score is None


def test_a_report_with_no_embeddings_still_tests_the_rest():
    rng = np.random.default_rng(10)
    baseline, recent = window(rng, 200), window(rng, 200, food_shares=ZIPF[::-1])
    recent = WindowSample(food_counts=recent.food_counts, numeric=recent.numeric, embeddings=np.zeros((0, 0)))

    analysis = drift_analyse(baseline=baseline, recent=recent)

    assert analysis.check("embedding").verdict == INSUFFICIENT_DATA
    assert analysis.verdict == DRIFT
    assert analysis.drifting_checks == ["prediction"]


# Known shifts are detected; unchanged data is not flagged --------------------------------


@pytest.mark.parametrize(
    ("shift", "check"),
    [
        ({"food_shares": ZIPF[::-1]}, "prediction"),
        ({"confidence_a": 4.0}, "confidence"),
        ({"brightness_mean": 0.6}, "brightness"),
        ({"embedding_shift": 0.8}, "embedding"),
    ],
)
def test_a_known_shift_is_detected_by_its_check(shift, check):
    rng = np.random.default_rng(11)

    analysis = drift_analyse(baseline=window(rng, 300), recent=window(rng, 300, **shift))

    assert analysis.verdict == DRIFT
    assert check in analysis.drifting_checks


def test_drift_score_is_the_jensen_shannon_distance_of_the_food_shares_less_what_chance_gives():
    rng = np.random.default_rng(12)
    baseline, recent = window(rng, 300), window(rng, 300, food_shares=ZIPF[::-1])

    analysis = drift_analyse(baseline=baseline, recent=recent)

    b, r = table(baseline.food_counts, recent.food_counts)
    distance = analysis.check("prediction").test("jensen_shannon")
    raw = jensenshannon(b / b.sum(), r / r.sum(), base=2)
    assert distance.statistic == pytest.approx(raw)
    assert analysis.drift_score == pytest.approx(np.sqrt(raw**2 - distance.details["no_drift_divergence"]))
    assert 0.15 < analysis.drift_score < raw


def test_a_significant_but_tiny_food_shift_in_huge_windows_is_not_drift():
    # 1 % of the shares moved: chi-square is significant with a million rows, the distance is not.
    baseline = {"pizza": 500_000, "sushi": 500_000}
    recent = {"pizza": 510_000, "sushi": 490_000}

    analysis = drift_analyse(
        baseline=WindowSample(food_counts=baseline, numeric={}, embeddings=np.zeros((0, 0))),
        recent=WindowSample(food_counts=recent, numeric={}, embeddings=np.zeros((0, 0))),
    )

    prediction = analysis.check("prediction")
    assert prediction.test("chi_square").verdict == DRIFT
    assert prediction.test("jensen_shannon").verdict == NO_DRIFT
    assert analysis.verdict == NO_DRIFT


@pytest.mark.slow  # 80 analyses, each with a permutation test
@pytest.mark.parametrize("n", [60, 400])
def test_unchanged_data_is_flagged_at_most_at_the_stated_false_alarm_rate_over_40_seeds(n):
    # alpha = 0.05 for the whole report (Bonferroni over its 9 checks): expect about 2 of 40 at most.
    config = DriftConfig(alpha=0.05, mmd_permutations=200)
    alarms = []
    for seed in range(40):
        rng = np.random.default_rng(1000 + seed)
        analysis = drift_analyse(baseline=window(rng, n), recent=window(rng, n), config=DriftConfig(**{**config.__dict__, "seed": seed}))
        alarms.append(analysis.drift_detected)

    assert sum(alarms) <= 4  # 2 x the nominal 5 % of 40
