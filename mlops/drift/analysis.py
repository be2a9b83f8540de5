"""The checks (one per monitored quantity) and the whole analysis; the verdict rules are in the package docstring."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .categorical import chi_square_result, count_table, jensen_shannon_result, population_stability_index, quantile_bin_counts
from .embedding import finite_rows, mmd_test
from .numeric import ks_test, wasserstein_test
from .results import (
    DRIFT,
    INSUFFICIENT_DATA,
    NO_DRIFT,
    DriftAnalysis,
    DriftCheck,
    DriftConfig,
    DriftTestResult,
    UntestedCheck,
    WindowSample,
    finite_values,
    has_enough,
    insufficient_result,
)


def _combine(deciding: list[DriftTestResult]) -> str:
    """Drift only when every deciding test says drift; insufficient data when any lacks data."""
    if any(test.verdict == INSUFFICIENT_DATA for test in deciding):
        return INSUFFICIENT_DATA
    return DRIFT if all(test.verdict == DRIFT for test in deciding) else NO_DRIFT


def food_distribution_check(
    baseline_counts: Mapping[str, int], recent_counts: Mapping[str, int], *, config: DriftConfig, alpha: float
) -> DriftCheck:
    n_baseline, n_recent = int(sum(baseline_counts.values())), int(sum(recent_counts.values()))
    if has_enough(n_baseline, n_recent, config.min_samples):
        # One set of relabellings serves both tests.
        table = count_table(baseline_counts, recent_counts, permutations=config.food_permutations, seed=config.seed)
        chi_square = chi_square_result(table, alpha=alpha, seed=config.seed)
        distance = jensen_shannon_result(table, threshold=config.js_threshold)
    else:
        chi_square = insufficient_result("chi_square", alpha, n_baseline, n_recent, config.min_samples)
        distance = insufficient_result("jensen_shannon", config.js_threshold, n_baseline, n_recent, config.min_samples)
    psi = population_stability_index(baseline_counts, recent_counts, threshold=config.psi_threshold, min_samples=config.min_samples)
    return DriftCheck(
        name="prediction",
        verdict=_combine([chi_square, distance]),
        rule="chi-square permutation p < alpha and chance-corrected Jensen-Shannon distance > threshold (PSI reported only)",
        tests=[chi_square, distance, psi],
    )


def numeric_check(name: str, baseline, recent, *, config: DriftConfig, alpha: float, with_psi: bool = False) -> DriftCheck:
    ks = ks_test(baseline, recent, alpha=alpha, min_samples=config.min_samples)
    wasserstein = wasserstein_test(baseline, recent, threshold=config.distance_threshold, min_samples=config.min_samples)
    tests = [ks, wasserstein]
    if with_psi:
        b_counts, r_counts = quantile_bin_counts(baseline, recent, bins=config.psi_bins)
        tests.append(population_stability_index(b_counts, r_counts, threshold=config.psi_threshold, min_samples=config.min_samples))
    return DriftCheck(
        name=name,
        verdict=_combine([ks, wasserstein]),
        rule="KS p < alpha and Wasserstein distance / baseline std > threshold",
        tests=tests,
    )


def embedding_check(baseline, recent, *, config: DriftConfig, alpha: float) -> DriftCheck:
    mmd = mmd_test(
        baseline, recent, alpha=alpha, min_samples=config.min_samples, permutations=config.mmd_permutations,
        sample_size=config.mmd_sample_size, seed=config.seed,
    )
    return DriftCheck(name="embedding", verdict=_combine([mmd]), rule="MMD permutation p < alpha", tests=[mmd])


def _untested(name: str, n_baseline: int | None, n_recent: int | None, *, min_samples: int) -> UntestedCheck | None:
    """Why a check cannot run (sizes of its values per window, None when the window lacks the quantity), or None."""
    if n_baseline is None or n_recent is None:
        return UntestedCheck(name, f"missing from the {'baseline' if n_baseline is None else 'recent'} window")
    if has_enough(n_baseline, n_recent, min_samples):
        return None
    counts = f"{n_baseline} in the baseline window, {n_recent} in the recent window, {min_samples} needed"
    return UntestedCheck(name, f"too few values ({counts})")


def drift_analyse(*, baseline: WindowSample, recent: WindowSample, config: DriftConfig | None = None) -> DriftAnalysis:
    """Run every check on the two windows and combine the verdicts (rules in the package docstring)."""
    config = config or DriftConfig()
    numeric_names = list(dict.fromkeys([*baseline.numeric, *recent.numeric]))

    def numeric_size(window: WindowSample, name: str) -> int | None:
        return finite_values(window.numeric[name]).size if name in window.numeric else None

    # Settled before any test runs: the divisor counts the checks with data, whatever their results.
    untested = [
        _untested("prediction", sum(baseline.food_counts.values()), sum(recent.food_counts.values()), min_samples=config.min_samples),
        *(
            _untested(name, numeric_size(baseline, name), numeric_size(recent, name), min_samples=config.min_samples)
            for name in numeric_names
        ),
        _untested(
            "embedding", finite_rows(baseline.embeddings).shape[0], finite_rows(recent.embeddings).shape[0], min_samples=config.min_samples
        ),
    ]
    untested = [entry for entry in untested if entry is not None]
    alpha = config.alpha / max(1 + len(numeric_names) + 1 - len(untested), 1)
    checks = [food_distribution_check(baseline.food_counts, recent.food_counts, config=config, alpha=alpha)]
    empty = np.zeros(0)
    for name in numeric_names:
        checks.append(
            numeric_check(
                name, baseline.numeric.get(name, empty), recent.numeric.get(name, empty), config=config, alpha=alpha,
                with_psi=name == "confidence",
            )
        )
    checks.append(embedding_check(baseline.embeddings, recent.embeddings, config=config, alpha=alpha))
    verdicts = {check.verdict for check in checks}
    if DRIFT in verdicts:
        verdict = DRIFT
    elif verdicts == {INSUFFICIENT_DATA}:
        verdict = INSUFFICIENT_DATA
    else:
        verdict = NO_DRIFT
    return DriftAnalysis(
        verdict=verdict,
        drift_detected=verdict == DRIFT,
        drift_score=checks[0].test("jensen_shannon").distance,
        alpha=config.alpha,
        alpha_per_check=alpha,
        checks=checks,
        untested=untested,
    )
