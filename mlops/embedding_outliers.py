"""Which recent embeddings lie farthest from the baseline: mean distance to the k nearest baseline embeddings. NumPy only.

A photo unlike anything in the baseline window sits far from all baseline points; one of
a kind the baseline holds has close neighbours. The distance within the baseline itself
(each point to its k nearest other baseline points) gives the scale of "close".
"""

from __future__ import annotations

import numpy as np

CHUNK_ROWS = 1024


def knn_distance(reference: np.ndarray, queries: np.ndarray, *, k: int = 5, exclude_self: bool = False) -> np.ndarray:
    """Mean Euclidean distance from each row of ``queries`` to its ``k`` nearest rows of ``reference``.

    ``exclude_self``: ``queries`` is ``reference`` and a row is not its own neighbour.
    Computed in chunks of rows, so memory stays at CHUNK_ROWS x len(reference).
    """
    reference = np.asarray(reference, dtype=np.float64)
    queries = np.asarray(queries, dtype=np.float64)
    available = reference.shape[0] - (1 if exclude_self else 0)
    if queries.shape[0] == 0 or available < 1:
        return np.zeros(queries.shape[0])
    k = min(k, available)
    reference_norms = np.einsum("ij,ij->i", reference, reference)
    result = np.empty(queries.shape[0])
    for first in range(0, queries.shape[0], CHUNK_ROWS):
        chunk = queries[first : first + CHUNK_ROWS]
        squared = np.einsum("ij,ij->i", chunk, chunk)[:, None] + reference_norms[None, :] - 2.0 * chunk @ reference.T
        np.maximum(squared, 0.0, out=squared)
        if exclude_self:
            rows = np.arange(chunk.shape[0])
            squared[rows, first + rows] = np.inf
        nearest = np.partition(squared, k - 1, axis=1)[:, :k]
        result[first : first + chunk.shape[0]] = np.sqrt(nearest).mean(axis=1)
    return result


def farthest(distances: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` largest distances, largest first (ties: lower index first)."""
    order = np.lexsort((np.arange(distances.shape[0]), -distances))
    return order[:count]
