"""Tests of a numeric quantity (confidence, image statistics): Kolmogorov-Smirnov and Wasserstein distance.

``scipy.stats`` (~70 MiB) is imported where a test computes: a web worker's URLconf imports this package.
"""

from __future__ import annotations

import numpy as np

from .results import DRIFT, NO_DRIFT, DriftTestResult, finite_values, has_enough, insufficient_result


def ks_test(baseline, recent, *, alpha: float = 0.05, min_samples: int = 30) -> DriftTestResult:
    """Two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp, two-sided)."""
    from scipy import stats

    b, r = finite_values(baseline), finite_values(recent)
    if not has_enough(b.size, r.size, min_samples):
        return insufficient_result("ks", alpha, b.size, r.size, min_samples)
    # scipy's exact method is slow for large samples and gives up (with a warning) on tied
    # values such as image sizes; the asymptotic distribution serves there.
    pooled = np.concatenate([b, r])
    exact_feasible = b.size * r.size <= 10_000 and np.unique(pooled).size == pooled.size
    outcome = stats.ks_2samp(b, r, method="auto" if exact_feasible else "asymp")
    p_value = float(outcome.pvalue)
    return DriftTestResult(
        name="ks", statistic=float(outcome.statistic), p_value=p_value, distance=None, threshold=alpha,
        n_baseline=int(b.size), n_recent=int(r.size), verdict=DRIFT if p_value < alpha else NO_DRIFT,
    )


def wasserstein_test(baseline, recent, *, threshold: float = 0.1, min_samples: int = 30) -> DriftTestResult:
    """Wasserstein-1 distance divided by the baseline's standard deviation (ddof=1).

    A constant baseline falls back to the pooled standard deviation; when both windows
    hold one and the same constant the distance is 0.
    """
    from scipy import stats

    b, r = finite_values(baseline), finite_values(recent)
    if not has_enough(b.size, r.size, min_samples):
        return insufficient_result("wasserstein", threshold, b.size, r.size, min_samples)
    raw = float(stats.wasserstein_distance(b, r))
    scale = float(np.std(b, ddof=1))
    if scale == 0.0:
        scale = float(np.std(np.concatenate([b, r]), ddof=1))
    distance = raw / scale if scale > 0.0 else 0.0
    return DriftTestResult(
        name="wasserstein", statistic=raw, p_value=None, distance=distance, threshold=threshold,
        n_baseline=int(b.size), n_recent=int(r.size), verdict=DRIFT if distance > threshold else NO_DRIFT,
        details={"baseline_std": scale, "baseline_mean": float(b.mean()), "recent_mean": float(r.mean())},
    )
