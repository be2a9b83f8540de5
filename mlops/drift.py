"""Drift statistics over arrays: a baseline window against a recent window.

Pure NumPy/SciPy, no Django. Each test returns a ``DriftTestResult``; tests are grouped
into checks (one per monitored quantity) and the checks into a ``DriftAnalysis``.

The verdict rules, chosen so that noise does not raise alarms:

- A check says ``drift`` only when its hypothesis test is significant *and* its effect
  size is above a distance threshold. Significance alone flags trivial shifts once the
  windows hold many thousands of rows; distance alone flags noise in small windows.
  Embeddings have no calibrated distance, so the embedding check rests on the MMD
  permutation test, whose power is bounded by the sample it draws (``mmd_sample_size``).
- The significance level ``alpha`` is for the whole report: every check is tested at
  ``alpha / number_of_checks`` (Bonferroni), so a report over unchanged data says
  ``drift`` with probability at most ``alpha`` however many checks it runs.
- A test with fewer than ``min_samples`` values in either window says
  ``insufficient_data``, never ``drift``; so does a check with any such test.
- The overall verdict is ``drift`` when any check says drift, ``insufficient_data``
  when no check had enough data, otherwise ``no_drift``.

``drift_score`` is the Jensen-Shannon distance (base 2, so in [0, 1]) between the food
distributions of the two windows: 0 for identical shares, 1 for disjoint foods. It is
compared with ``js_threshold``: 0.15 by default, the default of the drift endpoint's
``threshold`` parameter, which API clients rely on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

DRIFT = "drift"
NO_DRIFT = "no_drift"
INSUFFICIENT_DATA = "insufficient_data"

OTHER_CATEGORY = "__other__"


@dataclass(frozen=True)
class DriftConfig:
    alpha: float = 0.05  # false-alarm rate of a whole report (split over its checks)
    js_threshold: float = 0.15  # Jensen-Shannon distance of the food shares (the API's default threshold)
    distance_threshold: float = 0.1  # Wasserstein distance in baseline standard deviations
    psi_threshold: float = 0.2  # reported only: < 0.1 stable, 0.1-0.2 moderate, > 0.2 major shift
    min_samples: int = 30
    min_expected: float = 5.0  # chi-square: pool categories expected fewer times than this
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
class DriftAnalysis:
    verdict: str
    drift_detected: bool
    drift_score: float | None
    alpha: float
    alpha_per_check: float
    checks: list[DriftCheck]

    @property
    def drifting_checks(self) -> list[str]:
        return [check.name for check in self.checks if check.verdict == DRIFT]

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
            "drifting_checks": self.drifting_checks,
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


def pool_rare_categories(
    categories: list[str], baseline: np.ndarray, recent: np.ndarray, *, min_expected: float
) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Merge the rarest categories into one ``__other__`` column until every expected count is >= min_expected.

    In a 2 x K table the smallest expected count of column j is min(row totals) * C_j / N,
    so a column is kept when its total reaches ``min_expected * N / min(row totals)``.
    Returns the new categories and counts and the names of the pooled categories.
    """
    totals = baseline + recent
    needed = min_expected * totals.sum() / min(baseline.sum(), recent.sum())
    order = np.argsort(totals, kind="stable")
    pooled: list[int] = []
    pooled_total = 0.0
    for index in order:
        remaining = len(categories) - len(pooled)
        if totals[index] >= needed and (not pooled or pooled_total >= needed):
            break
        if remaining <= 1:
            break
        pooled.append(int(index))
        pooled_total += totals[index]
    if not pooled:
        return categories, baseline, recent, []
    pooled_set = set(pooled)
    keep = [i for i in range(len(categories)) if i not in pooled_set]
    new_categories = [categories[i] for i in keep] + [OTHER_CATEGORY]
    new_baseline = np.append(baseline[keep], baseline[pooled].sum())
    new_recent = np.append(recent[keep], recent[pooled].sum())
    return new_categories, new_baseline, new_recent, [categories[i] for i in pooled]


def chi_square_test(
    baseline_counts: Mapping[str, int], recent_counts: Mapping[str, int], *, alpha: float = 0.05,
    min_samples: int = 30, min_expected: float = 5.0,
) -> DriftTestResult:
    """Chi-square test of homogeneity on the 2 x K table of category counts (scipy.stats.chi2_contingency).

    Rare categories are pooled first so that no expected count is below ``min_expected``.
    A 2 x 2 table gets Yates' continuity correction (scipy's default), which errs towards no drift.
    """
    categories, b, r = _aligned_counts(baseline_counts, recent_counts)
    n_baseline, n_recent = int(b.sum()), int(r.sum())
    if not _enough(n_baseline, n_recent, min_samples):
        return _insufficient("chi_square", alpha, n_baseline, n_recent, min_samples)
    categories, b, r, pooled = pool_rare_categories(categories, b, r, min_expected=min_expected)
    if len(categories) < 2:
        # Every prediction in both windows is the same category: identical distributions.
        statistic, p_value, dof = 0.0, 1.0, 0
    else:
        outcome = stats.chi2_contingency(np.vstack([b, r]))
        statistic, p_value, dof = float(outcome.statistic), float(outcome.pvalue), int(outcome.dof)
    return DriftTestResult(
        name="chi_square", statistic=statistic, p_value=p_value, distance=None, threshold=alpha,
        n_baseline=n_baseline, n_recent=n_recent, verdict=DRIFT if p_value < alpha else NO_DRIFT,
        details={"dof": dof, "categories": len(categories), "pooled_categories": pooled},
    )


def jensen_shannon_test(
    baseline_counts: Mapping[str, int], recent_counts: Mapping[str, int], *, threshold: float = 0.15, min_samples: int = 30
) -> DriftTestResult:
    """Jensen-Shannon distance (base 2, in [0, 1]) between the two windows' category shares."""
    _, b, r = _aligned_counts(baseline_counts, recent_counts)
    n_baseline, n_recent = int(b.sum()), int(r.sum())
    if not _enough(n_baseline, n_recent, min_samples):
        return _insufficient("jensen_shannon", threshold, n_baseline, n_recent, min_samples)
    distance = float(jensenshannon(b / b.sum(), r / r.sum(), base=2))
    return DriftTestResult(
        name="jensen_shannon", statistic=distance, p_value=None, distance=distance, threshold=threshold,
        n_baseline=n_baseline, n_recent=n_recent, verdict=DRIFT if distance > threshold else NO_DRIFT,
    )


def population_stability_index(
    baseline_counts: Mapping[str, int], recent_counts: Mapping[str, int], *, threshold: float = 0.2,
    min_samples: int = 30, epsilon: float = 1e-4,
) -> DriftTestResult:
    """PSI = sum((r - b) * ln(r / b)) over category (or bin) shares.

    A share of 0 becomes ``epsilon`` and the shares are renormalised, so PSI is the
    symmetric Kullback-Leibler divergence of the two smoothed distributions.
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
        n_baseline=n_baseline, n_recent=n_recent, verdict=DRIFT if psi > threshold else NO_DRIFT,
        details={"epsilon": epsilon},
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
    chi_square = chi_square_test(
        baseline_counts, recent_counts, alpha=alpha, min_samples=config.min_samples, min_expected=config.min_expected
    )
    distance = jensen_shannon_test(baseline_counts, recent_counts, threshold=config.js_threshold, min_samples=config.min_samples)
    psi = population_stability_index(baseline_counts, recent_counts, threshold=config.psi_threshold, min_samples=config.min_samples)
    return DriftCheck(
        name="prediction",
        verdict=_combine([chi_square, distance]),
        rule="chi-square p < alpha and Jensen-Shannon distance > threshold (PSI reported only)",
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


def drift_analyse(*, baseline: WindowSample, recent: WindowSample, config: DriftConfig | None = None) -> DriftAnalysis:
    """Run every check on the two windows and combine the verdicts (rules in the module docstring)."""
    config = config or DriftConfig()
    numeric_names = [name for name in baseline.numeric if name in recent.numeric]
    check_count = 1 + len(numeric_names) + 1
    alpha = config.alpha / check_count
    checks = [food_distribution_check(baseline.food_counts, recent.food_counts, config=config, alpha=alpha)]
    for name in numeric_names:
        checks.append(
            numeric_check(name, baseline.numeric[name], recent.numeric[name], config=config, alpha=alpha, with_psi=name == "confidence")
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
    )
