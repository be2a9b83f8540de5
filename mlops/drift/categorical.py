"""Tests of a categorical distribution (the foods predicted): chi-square, Jensen-Shannon distance, PSI.

Both deciding tests share one set of seeded relabellings of the two windows (``count_table``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .results import DRIFT, NO_DRIFT, REPORTED_ONLY, DriftTestResult, finite_values, has_enough, insufficient_result


def _aligned_counts(baseline: Mapping[str, int], recent: Mapping[str, int]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Counts of both windows over the union of their categories (a category unseen in one window counts 0 there)."""
    categories = sorted(key for key in set(baseline) | set(recent) if baseline.get(key, 0) + recent.get(key, 0) > 0)
    b = np.array([baseline.get(key, 0) for key in categories], dtype=np.float64)
    r = np.array([recent.get(key, 0) for key in categories], dtype=np.float64)
    return categories, b, r


@dataclass(frozen=True)
class CountTable:
    """Counts of both windows over the categories seen in either, and the recent window's counts
    under random relabellings of the pooled predictions (window sizes and category totals kept)."""

    categories: list[str]
    baseline: np.ndarray
    recent: np.ndarray
    permuted_recent: np.ndarray  # shape (permutations, categories)

    @property
    def permuted_baseline(self) -> np.ndarray:
        return (self.baseline + self.recent) - self.permuted_recent

    @property
    def permutations(self) -> int:
        return self.permuted_recent.shape[0]


def count_table(baseline_counts: Mapping[str, int], recent_counts: Mapping[str, int], *, permutations: int, seed: int) -> CountTable:
    """The 2 x K table of the two windows and ``permutations`` seeded relabellings of it.

    A relabelling draws the recent window's predictions without replacement from the pooled
    ones: a multivariate hypergeometric draw over the category totals, whose cost does not
    grow with the number of predictions.
    """
    categories, b, r = _aligned_counts(baseline_counts, recent_counts)
    rng = np.random.default_rng([seed, 1])
    permuted = rng.multivariate_hypergeometric((b + r).astype(np.int64), int(r.sum()), size=permutations, method="marginals")
    return CountTable(categories=categories, baseline=b, recent=r, permuted_recent=permuted.astype(np.float64))


def _pearson_chi_square(baseline: np.ndarray, recent: np.ndarray) -> np.ndarray:
    """Pearson's statistic of homogeneity of 2 x K tables (last axis: categories, every column total > 0)."""
    totals = baseline + recent
    grand = totals.sum(axis=-1, keepdims=True)
    expected_baseline = totals * baseline.sum(axis=-1, keepdims=True) / grand
    expected_recent = totals * recent.sum(axis=-1, keepdims=True) / grand
    return np.sum((baseline - expected_baseline) ** 2 / expected_baseline + (recent - expected_recent) ** 2 / expected_recent, axis=-1)


def _js_divergence(baseline: np.ndarray, recent: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence in bits between the shares of each row pair (last axis: categories)."""
    p = baseline / baseline.sum(axis=-1, keepdims=True)
    q = recent / recent.sum(axis=-1, keepdims=True)
    m = (p + q) / 2.0
    # m > 0 wherever p or q is; a zero share contributes nothing.
    p_terms = p * np.log2(np.where(p > 0, p, 1.0) / np.where(p > 0, m, 1.0))
    q_terms = q * np.log2(np.where(q > 0, q, 1.0) / np.where(q > 0, m, 1.0))
    return np.maximum(0.5 * np.sum(p_terms, axis=-1) + 0.5 * np.sum(q_terms, axis=-1), 0.0)


def _monte_carlo_p_value(observed: float, null: np.ndarray) -> float:
    """(1 + #{null >= observed}) / (1 + draws); a relabelling equal to the observed table counts (rounding aside)."""
    at_least = np.count_nonzero(null >= observed - 1e-9 * max(1.0, abs(observed)))
    return float((1 + at_least) / (1 + null.size))


def chi_square_result(table: CountTable, *, alpha: float, seed: int) -> DriftTestResult:
    """Pearson's chi-square of the table with its Monte Carlo p-value over the table's relabellings."""
    n_baseline, n_recent = int(table.baseline.sum()), int(table.recent.sum())
    new_categories = [name for name, count in zip(table.categories, table.baseline, strict=True) if count == 0]
    if len(table.categories) < 2:
        # Every prediction in both windows is the same category: identical distributions.
        statistic, p_value = 0.0, 1.0
    else:
        statistic = float(_pearson_chi_square(table.baseline, table.recent))
        p_value = _monte_carlo_p_value(statistic, _pearson_chi_square(table.permuted_baseline, table.permuted_recent))
    return DriftTestResult(
        name="chi_square", statistic=statistic, p_value=p_value, distance=None, threshold=alpha,
        n_baseline=n_baseline, n_recent=n_recent, verdict=DRIFT if p_value < alpha else NO_DRIFT,
        details={
            "method": "monte_carlo_permutation", "permutations": table.permutations, "seed": seed,
            "categories": len(table.categories), "dof": max(len(table.categories) - 1, 0),
            "new_categories": new_categories,
        },
    )


def jensen_shannon_result(table: CountTable, *, threshold: float) -> DriftTestResult:
    """The chance-corrected Jensen-Shannon distance of the table (see ``jensen_shannon_test``)."""
    n_baseline, n_recent = int(table.baseline.sum()), int(table.recent.sum())
    observed = float(_js_divergence(table.baseline, table.recent))
    null = _js_divergence(table.permuted_baseline, table.permuted_recent)
    expected = float(null.mean())
    score = float(np.sqrt(max(observed - expected, 0.0)))
    chance = float(np.sqrt(max(float(np.quantile(null, 0.95)) - expected, 0.0)))
    return DriftTestResult(
        name="jensen_shannon", statistic=float(np.sqrt(observed)), p_value=None, distance=score, threshold=threshold,
        n_baseline=n_baseline, n_recent=n_recent, verdict=DRIFT if score > threshold else NO_DRIFT,
        details={
            "raw_distance": float(np.sqrt(observed)),
            "no_drift_divergence": expected,
            "chance_distance": chance,
            "permutations": table.permutations,
        },
    )


def chi_square_test(
    baseline_counts: Mapping[str, int], recent_counts: Mapping[str, int], *, alpha: float = 0.05,
    min_samples: int = 30, permutations: int = 2000, seed: int = 0,
) -> DriftTestResult:
    """Chi-square test of homogeneity on the full 2 x K table of category counts, no category pooled away.

    The p-value is a Monte Carlo permutation p-value (``count_table``), valid however sparse the
    table: a food seen only in the recent window keeps its own column.
    """
    _, b, r = _aligned_counts(baseline_counts, recent_counts)
    if not has_enough(int(b.sum()), int(r.sum()), min_samples):
        return insufficient_result("chi_square", alpha, int(b.sum()), int(r.sum()), min_samples)
    table = count_table(baseline_counts, recent_counts, permutations=permutations, seed=seed)
    return chi_square_result(table, alpha=alpha, seed=seed)


def jensen_shannon_test(
    baseline_counts: Mapping[str, int], recent_counts: Mapping[str, int], *, threshold: float = 0.15,
    min_samples: int = 30, permutations: int = 2000, seed: int = 0,
) -> DriftTestResult:
    """Jensen-Shannon distance (base 2, in [0, 1]) between the windows' category shares, corrected for chance.

    ``distance`` is sqrt(max(0, JSD - mean JSD over relabellings)), about 0 on unchanged windows
    of any size; ``statistic`` and ``details.raw_distance`` are the plug-in distance, and
    ``details.chance_distance`` the corrected distance that unchanged windows exceed 5 % of the time.
    """
    _, b, r = _aligned_counts(baseline_counts, recent_counts)
    if not has_enough(int(b.sum()), int(r.sum()), min_samples):
        return insufficient_result("jensen_shannon", threshold, int(b.sum()), int(r.sum()), min_samples)
    return jensen_shannon_result(count_table(baseline_counts, recent_counts, permutations=permutations, seed=seed), threshold=threshold)


def population_stability_index(
    baseline_counts: Mapping[str, int], recent_counts: Mapping[str, int], *, threshold: float = 0.2,
    min_samples: int = 30, epsilon: float = 1e-4,
) -> DriftTestResult:
    """PSI = sum((r - b) * ln(r / b)) over category (or bin) shares, reported for reference only.

    A share of 0 becomes ``epsilon`` and the shares are renormalised, so PSI is the
    symmetric Kullback-Leibler divergence of the two smoothed distributions. Small windows
    leave many categories empty, which inflates PSI whether or not anything changed, so its
    verdict is ``reported_only``; ``threshold`` is the conventional "major shift" level.
    """
    _, b, r = _aligned_counts(baseline_counts, recent_counts)
    n_baseline, n_recent = int(b.sum()), int(r.sum())
    if not has_enough(n_baseline, n_recent, min_samples):
        return insufficient_result("psi", threshold, n_baseline, n_recent, min_samples)
    p = _smoothed_shares(b, epsilon)
    q = _smoothed_shares(r, epsilon)
    psi = float(np.sum((q - p) * np.log(q / p)))
    return DriftTestResult(
        name="psi", statistic=psi, p_value=None, distance=psi, threshold=threshold,
        n_baseline=n_baseline, n_recent=n_recent, verdict=REPORTED_ONLY,
        details={"epsilon": epsilon, "empty_categories": int(np.count_nonzero(b == 0) + np.count_nonzero(r == 0))},
    )


def _smoothed_shares(counts: np.ndarray, epsilon: float) -> np.ndarray:
    shares = np.maximum(counts / counts.sum(), epsilon)
    return shares / shares.sum()


def quantile_bin_counts(baseline, recent, *, bins: int = 10) -> tuple[dict[str, int], dict[str, int]]:
    """Counts of both samples in bins cut at the baseline's quantiles (for PSI on a numeric quantity)."""
    b, r = finite_values(baseline), finite_values(recent)
    if b.size == 0:
        return {}, {"all": int(r.size)} if r.size else {}
    inner = np.unique(np.quantile(b, np.linspace(0, 1, bins + 1)[1:-1]))
    b_bins = np.searchsorted(inner, b, side="right")
    r_bins = np.searchsorted(inner, r, side="right")
    b_counts = np.bincount(b_bins, minlength=inner.size + 1)
    r_counts = np.bincount(r_bins, minlength=inner.size + 1)
    return ({f"bin{i}": int(c) for i, c in enumerate(b_counts)}, {f"bin{i}": int(c) for i, c in enumerate(r_counts)})
