"""Test of the image embeddings: maximum mean discrepancy with a seeded permutation test."""

from __future__ import annotations

import numpy as np

from .results import DRIFT, NO_DRIFT, DriftTestResult, has_enough, insufficient_result


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


def finite_rows(points) -> np.ndarray:
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
    b, r = finite_rows(baseline), finite_rows(recent)
    if not has_enough(b.shape[0], r.shape[0], min_samples):
        return insufficient_result("mmd", alpha, b.shape[0], r.shape[0], min_samples)
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
