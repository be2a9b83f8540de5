"""Drift statistics over arrays: a baseline window against a recent window.

Pure NumPy/SciPy, no Django. Each test returns a ``DriftTestResult``; tests are grouped
into checks (one per monitored quantity) and the checks into a ``DriftAnalysis``.

The verdict rules, chosen so that noise does not raise alarms:

- A check says ``drift`` only when its hypothesis test is significant *and* its effect
  size is above a distance threshold. Significance alone flags trivial shifts once the
  windows hold many thousands of rows; distance alone flags noise in small windows.
  Embeddings have no calibrated distance, so the embedding check rests on the MMD
  permutation test, whose power is bounded by the sample it draws (``mmd_sample_size``).
- The significance level ``alpha`` is for the whole report: every check that has data is
  tested at ``alpha / number_of_checks_with_data`` (Bonferroni), so a report over unchanged
  data says ``drift`` with probability at most ``alpha`` however many checks it runs. Which
  checks have data is settled before any test runs, so the divisor never depends on a result.
- A test with fewer than ``min_samples`` values in either window says
  ``insufficient_data``, never ``drift``; so does a check with any such test. A numeric
  quantity present in one window only is such a check, and the analysis lists it as untested.
- Figures that are reported for reference (PSI) decide nothing: their verdict is
  ``reported_only``.
- The overall verdict is ``drift`` when any check says drift, ``insufficient_data``
  when no check had enough data, otherwise ``no_drift``.

The food distribution is tested on the full table of categories, none pooled away, so a
food the baseline never saw keeps its own column: a Pearson chi-square statistic whose
p-value comes from random relabellings of the pooled predictions (a Monte Carlo
permutation test, exact at any sample size, ``food_permutations`` draws).

``drift_score`` is the Jensen-Shannon distance (base 2, in [0, 1]) between the food
distributions of the two windows, corrected for chance: the plug-in distance of two
small samples is large even when nothing changed (about 0.42 for 100 predictions per
window over 47 foods), so the score is ``sqrt(max(0, JSD - E0[JSD]))`` where JSD is the
observed Jensen-Shannon divergence and E0[JSD] its mean over the same relabellings. The
score is about 0 on unchanged windows of any size and estimates the distance between
the underlying distributions when they differ; it is compared with the seed's threshold
(0.15 by default). The plug-in distance and the score's chance level (the value unchanged
windows of these sizes exceed one time in twenty) are reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

DRIFT = "drift"
NO_DRIFT = "no_drift"
INSUFFICIENT_DATA = "insufficient_data"
REPORTED_ONLY = "reported_only"  # a figure shown for reference, which decides nothing


@dataclass(frozen=True)
class DriftConfig:
    alpha: float = 0.05  # false-alarm rate of a whole report (split over its checks)
    js_threshold: float = 0.15  # Jensen-Shannon distance of the food shares (the seed's threshold)
    distance_threshold: float = 0.1  # Wasserstein distance in baseline standard deviations
    psi_threshold: float = 0.2  # reported only: < 0.1 stable, 0.1-0.2 moderate, > 0.2 major shift
    min_samples: int = 30
    food_permutations: int = 2000  # relabellings for the food test; its smallest p-value is 1 / (1 + this)
    mmd_sample_size: int = 500  # per window; the kernel matrix is (2n)^2
    mmd_permutations: int = 500
    psi_bins: int = 10
    seed: int = 0


@dataclass(frozen=True)
class DriftTestResult:
    name: str
    statistic: float | None
    p_value: float | None
    distance: float | None
    threshold: float
    n_baseline: int
    n_recent: int
    verdict: str
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DriftCheck:
    name: str
    verdict: str
    rule: str
    tests: list[DriftTestResult]

    def test(self, name: str) -> DriftTestResult:
        return next(result for result in self.tests if result.name == name)

    def as_dict(self) -> dict:
        return {"name": self.name, "verdict": self.verdict, "rule": self.rule, "tests": [t.as_dict() for t in self.tests]}


@dataclass(frozen=True)
class WindowSample:
    """What the drift checks need from one window.

    ``food_counts`` are full counts (no sampling); ``numeric`` arrays and ``embeddings``
    may be a sample of the window. Missing values are NaN and are ignored.
    """

    food_counts: Mapping[str, int]
    numeric: Mapping[str, np.ndarray]
    embeddings: np.ndarray  # shape (n, dim); (0, dim) when none were recorded


@dataclass(frozen=True)
class UntestedCheck:
    """A check that did not run for lack of data, and why; it is not counted in the Bonferroni divisor."""

    name: str
    reason: str


@dataclass(frozen=True)
class DriftAnalysis:
    verdict: str
    drift_detected: bool
    drift_score: float | None
    alpha: float
    alpha_per_check: float
    checks: list[DriftCheck]
    untested: list[UntestedCheck] = field(default_factory=list)

    @property
    def drifting_checks(self) -> list[str]:
        return [check.name for check in self.checks if check.verdict == DRIFT]

    @property
    def checks_tested(self) -> int:
        """The Bonferroni divisor: the checks that had enough data to run."""
        return len(self.checks) - len(self.untested)

    def check(self, name: str) -> DriftCheck:
        return next(check for check in self.checks if check.name == name)

    def as_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "drift_detected": self.drift_detected,
            "drift_score": self.drift_score,
            "alpha": self.alpha,
            "alpha_per_check": self.alpha_per_check,
            "correction": "bonferroni",
            "checks_tested": self.checks_tested,
            "drifting_checks": self.drifting_checks,
            "untested_checks": [asdict(untested) for untested in self.untested],
            "checks": [check.as_dict() for check in self.checks],
        }


def _finite(values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)]


def _insufficient(name: str, threshold: float, n_baseline: int, n_recent: int, min_samples: int) -> DriftTestResult:
    return DriftTestResult(
        name=name, statistic=None, p_value=None, distance=None, threshold=threshold,
        n_baseline=n_baseline, n_recent=n_recent, verdict=INSUFFICIENT_DATA, details={"min_samples": min_samples},
    )


def _enough(n_baseline: int, n_recent: int, min_samples: int) -> bool:
    return n_baseline >= min_samples and n_recent >= min_samples


def _aligned_counts(baseline: Mapping[str, int], recent: Mapping[str, int]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Counts of both windows over the union of their categories (a category unseen in one window counts 0 there)."""
    categories = sorted(key for key in set(baseline) | set(recent) if baseline.get(key, 0) + recent.get(key, 0) > 0)
    b = np.array([baseline.get(key, 0) for key in categories], dtype=np.float64)
    r = np.array([recent.get(key, 0) for key in categories], dtype=np.float64)
    return categories, b, r


# Categorical tests (the food distribution) -------------------------------------------------


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


def _chi_square_result(table: CountTable, *, alpha: float, seed: int) -> DriftTestResult:
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


def _jensen_shannon_result(table: CountTable, *, threshold: float) -> DriftTestResult:
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
    if not _enough(int(b.sum()), int(r.sum()), min_samples):
        return _insufficient("chi_square", alpha, int(b.sum()), int(r.sum()), min_samples)
    table = count_table(baseline_counts, recent_counts, permutations=permutations, seed=seed)
    return _chi_square_result(table, alpha=alpha, seed=seed)


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
    if not _enough(int(b.sum()), int(r.sum()), min_samples):
        return _insufficient("jensen_shannon", threshold, int(b.sum()), int(r.sum()), min_samples)
    return _jensen_shannon_result(count_table(baseline_counts, recent_counts, permutations=permutations, seed=seed), threshold=threshold)


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
    if not _enough(n_baseline, n_recent, min_samples):
        return _insufficient("psi", threshold, n_baseline, n_recent, min_samples)
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
    b, r = _finite(baseline), _finite(recent)
    if b.size == 0:
        return {}, {"all": int(r.size)} if r.size else {}
    inner = np.unique(np.quantile(b, np.linspace(0, 1, bins + 1)[1:-1]))
    b_bins = np.searchsorted(inner, b, side="right")
    r_bins = np.searchsorted(inner, r, side="right")
    b_counts = np.bincount(b_bins, minlength=inner.size + 1)
    r_counts = np.bincount(r_bins, minlength=inner.size + 1)
    return ({f"bin{i}": int(c) for i, c in enumerate(b_counts)}, {f"bin{i}": int(c) for i, c in enumerate(r_counts)})


# Numeric tests (confidence, image statistics) ---------------------------------------------


def ks_test(baseline, recent, *, alpha: float = 0.05, min_samples: int = 30) -> DriftTestResult:
    """Two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp, two-sided)."""
    b, r = _finite(baseline), _finite(recent)
    if not _enough(b.size, r.size, min_samples):
        return _insufficient("ks", alpha, b.size, r.size, min_samples)
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
    b, r = _finite(baseline), _finite(recent)
    if not _enough(b.size, r.size, min_samples):
        return _insufficient("wasserstein", threshold, b.size, r.size, min_samples)
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


# Embedding test -----------------------------------------------------------------------------


def median_heuristic_bandwidth(pooled: np.ndarray, *, squared: np.ndarray | None = None) -> float:
    """The median Euclidean distance between distinct points of the pooled sample (1.0 if all coincide)."""
    squared = _squared_distances(pooled) if squared is None else squared
    upper = squared[np.triu_indices(pooled.shape[0], k=1)]
    median = float(np.sqrt(np.median(upper))) if upper.size else 0.0
    return median if median > 0.0 else 1.0


def _squared_distances(points: np.ndarray) -> np.ndarray:
    norms = np.einsum("ij,ij->i", points, points)
    squared = norms[:, None] + norms[None, :] - 2.0 * points @ points.T
    np.maximum(squared, 0.0, out=squared)
    np.fill_diagonal(squared, 0.0)
    return squared


def rbf_kernel(points: np.ndarray, bandwidth: float, *, squared: np.ndarray | None = None) -> np.ndarray:
    """k(x, y) = exp(-|x - y|^2 / (2 bandwidth^2)) for every pair of rows."""
    squared = _squared_distances(points) if squared is None else squared
    return np.exp(-squared / (2.0 * bandwidth**2))


def _mmd2_unbiased(kernel: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Unbiased MMD^2 for each column of ``membership`` (1.0 = baseline row, 0.0 = recent row)."""
    n = membership[:, 0].sum()
    m = membership.shape[0] - n
    in_x = kernel @ membership
    in_y = kernel.sum(axis=1)[:, None] - in_x
    diagonal = np.diag(kernel)[:, None]
    xx = np.sum(membership * in_x, axis=0) - np.sum(membership * diagonal, axis=0)
    yy = np.sum((1.0 - membership) * in_y, axis=0) - np.sum((1.0 - membership) * diagonal, axis=0)
    xy = np.sum(membership * in_y, axis=0)
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2.0 * xy / (n * m)


def mmd_statistic(baseline: np.ndarray, recent: np.ndarray, *, bandwidth: float) -> float:
    """Unbiased estimate of the squared maximum mean discrepancy with an RBF kernel."""
    pooled = np.vstack([baseline, recent]).astype(np.float64)
    membership = np.zeros((pooled.shape[0], 1))
    membership[: baseline.shape[0], 0] = 1.0
    return float(_mmd2_unbiased(rbf_kernel(pooled, bandwidth), membership)[0])


def _clean_rows(points) -> np.ndarray:
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0:
        return np.zeros((0, array.shape[-1] if array.ndim == 2 else 0))
    return array[np.all(np.isfinite(array), axis=1)]


def _subsample(points: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    if points.shape[0] <= size:
        return points
    return points[np.sort(rng.choice(points.shape[0], size=size, replace=False))]


def mmd_test(
    baseline, recent, *, alpha: float = 0.05, min_samples: int = 30, permutations: int = 500,
    sample_size: int = 500, seed: int = 0,
) -> DriftTestResult:
    """Maximum mean discrepancy (RBF kernel, median-heuristic bandwidth) with a seeded permutation test.

    Windows larger than ``sample_size`` are subsampled (seeded, without replacement).
    p = (1 + #{permuted MMD^2 >= observed}) / (1 + permutations).
    """
    b, r = _clean_rows(baseline), _clean_rows(recent)
    if not _enough(b.shape[0], r.shape[0], min_samples):
        return _insufficient("mmd", alpha, b.shape[0], r.shape[0], min_samples)
    rng = np.random.default_rng(seed)
    b, r = _subsample(b, sample_size, rng), _subsample(r, sample_size, rng)
    pooled = np.vstack([b, r])
    squared = _squared_distances(pooled)
    bandwidth = median_heuristic_bandwidth(pooled, squared=squared)
    kernel = rbf_kernel(pooled, bandwidth, squared=squared)
    observed = np.zeros((pooled.shape[0], 1))
    observed[: b.shape[0], 0] = 1.0
    statistic = float(_mmd2_unbiased(kernel, observed)[0])
    shuffled = np.empty((pooled.shape[0], permutations))
    for column in range(permutations):
        shuffled[:, column] = rng.permutation(observed[:, 0])
    null = _mmd2_unbiased(kernel, shuffled)
    p_value = float((1 + np.count_nonzero(null >= statistic)) / (1 + permutations))
    return DriftTestResult(
        name="mmd", statistic=statistic, p_value=p_value, distance=None, threshold=alpha,
        n_baseline=int(b.shape[0]), n_recent=int(r.shape[0]), verdict=DRIFT if p_value < alpha else NO_DRIFT,
        details={"bandwidth": bandwidth, "permutations": permutations, "seed": seed, "kernel": "rbf"},
    )


# Checks and the whole analysis ---------------------------------------------------------------


def _combine(deciding: list[DriftTestResult]) -> str:
    """Drift only when every deciding test says drift; insufficient data when any lacks data."""
    if any(test.verdict == INSUFFICIENT_DATA for test in deciding):
        return INSUFFICIENT_DATA
    return DRIFT if all(test.verdict == DRIFT for test in deciding) else NO_DRIFT


def food_distribution_check(
    baseline_counts: Mapping[str, int], recent_counts: Mapping[str, int], *, config: DriftConfig, alpha: float
) -> DriftCheck:
    n_baseline, n_recent = int(sum(baseline_counts.values())), int(sum(recent_counts.values()))
    if _enough(n_baseline, n_recent, config.min_samples):
        # One set of relabellings serves both tests.
        table = count_table(baseline_counts, recent_counts, permutations=config.food_permutations, seed=config.seed)
        chi_square = _chi_square_result(table, alpha=alpha, seed=config.seed)
        distance = _jensen_shannon_result(table, threshold=config.js_threshold)
    else:
        chi_square = _insufficient("chi_square", alpha, n_baseline, n_recent, config.min_samples)
        distance = _insufficient("jensen_shannon", config.js_threshold, n_baseline, n_recent, config.min_samples)
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
    if _enough(n_baseline, n_recent, min_samples):
        return None
    counts = f"{n_baseline} in the baseline window, {n_recent} in the recent window, {min_samples} needed"
    return UntestedCheck(name, f"too few values ({counts})")


def drift_analyse(*, baseline: WindowSample, recent: WindowSample, config: DriftConfig | None = None) -> DriftAnalysis:
    """Run every check on the two windows and combine the verdicts (rules in the module docstring)."""
    config = config or DriftConfig()
    numeric_names = list(dict.fromkeys([*baseline.numeric, *recent.numeric]))

    def numeric_size(window: WindowSample, name: str) -> int | None:
        return _finite(window.numeric[name]).size if name in window.numeric else None

    # Settled before any test runs: the divisor counts the checks with data, whatever their results.
    untested = [
        _untested("prediction", sum(baseline.food_counts.values()), sum(recent.food_counts.values()), min_samples=config.min_samples),
        *(
            _untested(name, numeric_size(baseline, name), numeric_size(recent, name), min_samples=config.min_samples)
            for name in numeric_names
        ),
        _untested(
            "embedding", _clean_rows(baseline.embeddings).shape[0], _clean_rows(recent.embeddings).shape[0], min_samples=config.min_samples
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
