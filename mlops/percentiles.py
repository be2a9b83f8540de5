"""The project's one percentile definition: linear interpolation between the two closest ranks (numpy's default).

Pure Python, no Django. The SQL selectors read just the two rows ``rank_position`` names
(API, alerts, dashboard); the mirror applies ``percentile`` to a window's latencies
(logged to MLflow as ``window_latency_p50_seconds`` / ``window_latency_p95_seconds``).
The same data gives the same figure everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def rank_position(fraction: float, count: int) -> tuple[int, float]:
    """Where the ``fraction`` quantile (0-1) of ``count`` sorted values lies: the lower value's index and the upper value's weight.

    The quantile is ``values[lower] + weight * (values[lower + 1] - values[lower])``.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"a percentile fraction is between 0 and 1, got {fraction!r}")
    if count <= 0:
        raise ValueError("no values to take a percentile of")
    position = fraction * (count - 1)
    lower = math.floor(position)
    return lower, position - lower


def interpolate(lower_value: float, upper_value: float | None, weight: float) -> float:
    """The value ``weight`` of the way from ``lower_value`` to ``upper_value`` (None: there is no upper value)."""
    if upper_value is None or weight == 0:
        return float(lower_value)
    return float(lower_value) + weight * (float(upper_value) - float(lower_value))


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """The ``fraction`` quantile (0-1) of ``values``; None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    lower, weight = rank_position(fraction, len(ordered))
    upper = ordered[lower + 1] if lower + 1 < len(ordered) else None
    return interpolate(ordered[lower], upper, weight)
