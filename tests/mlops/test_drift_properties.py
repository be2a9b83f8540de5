"""Property tests of the drift statistics (Hypothesis): identical windows are never drift, the tests do not care
which window is called baseline for their statistics, nor in which order rows arrive."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops.drift import (
    DRIFT,
    DriftConfig,
    WindowSample,
    chi_square_test,
    drift_analyse,
    jensen_shannon_test,
    ks_test,
    wasserstein_test,
)

PROPERTIES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FOODS = [f"food{i}" for i in range(12)]

food_counts = st.dictionaries(st.sampled_from(FOODS), st.integers(1, 60), min_size=1, max_size=len(FOODS)).filter(
    lambda counts: sum(counts.values()) >= 30
)
numeric_values = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=30, max_size=200).map(np.array)


@PROPERTIES
@given(food_counts, numeric_values)
def test_a_window_compared_with_itself_is_never_drift(counts, values):
    window = WindowSample(food_counts=counts, numeric={"brightness": values}, embeddings=np.zeros((0, 0)))

    analysis = drift_analyse(baseline=window, recent=window, config=DriftConfig(food_permutations=200))

    assert analysis.verdict != DRIFT
    assert analysis.drift_detected is False


@PROPERTIES
@given(food_counts, food_counts)
def test_the_food_statistics_are_symmetric_in_the_two_windows(baseline, recent):
    forward = chi_square_test(baseline, recent, permutations=200)
    backward = chi_square_test(recent, baseline, permutations=200)
    js_forward = jensen_shannon_test(baseline, recent, permutations=200)
    js_backward = jensen_shannon_test(recent, baseline, permutations=200)

    assert np.isclose(forward.statistic, backward.statistic)
    assert np.isclose(js_forward.statistic, js_backward.statistic)


@PROPERTIES
@given(numeric_values, numeric_values, st.randoms(use_true_random=False))
def test_numeric_tests_do_not_depend_on_row_order(baseline, recent, random):
    shuffled_baseline, shuffled_recent = baseline.copy(), recent.copy()
    random.shuffle(shuffled_baseline)
    random.shuffle(shuffled_recent)

    for test in (ks_test, wasserstein_test):
        original, reordered = test(baseline, recent), test(shuffled_baseline, shuffled_recent)
        assert np.isclose(original.statistic, reordered.statistic, equal_nan=True)
        assert original.verdict == reordered.verdict


@PROPERTIES
@given(numeric_values, numeric_values)
def test_the_ks_statistic_is_symmetric_in_the_two_windows(baseline, recent):
    assert np.isclose(ks_test(baseline, recent).statistic, ks_test(recent, baseline).statistic)
