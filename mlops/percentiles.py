"""The project's percentile definitions, pure Python (no Django).

Two figures, each with one definition used by the API, the pages, the alerts and MLflow alike:

- **Exact** (confidence medians): linear interpolation between the two closest ranks
  (numpy's default). The SQL selectors read just the two rows ``rank_position`` names.
- **Latency** (p50 / p95 / p99 of request processing time, everywhere: API, health, Overview,
  alerts, the mirror's ``window_latency_p50_seconds`` / ``window_latency_p95_seconds``):
  the same interpolation between the two closest ranks, with each ranked value replaced by
  the geometric midpoint of its bin in a fixed log-spaced histogram (``LATENCY_BIN_RATIO``
  wide). Every value of a bin is within a factor sqrt(1.02) of that midpoint, so a latency
  percentile is within 0.995 % (relative) of the exact one for latencies from 0.1 ms to 11 h
  (below 0.1 ms, within 0.11 ms). Histograms add up across days and versions, so the
  rollups answer any window without sorting its latencies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

# Bin i holds latencies in [LOW * RATIO**i, LOW * RATIO**(i + 1)); below LOW in bin 0, beyond the last in the last.
LATENCY_BIN_RATIO = 1.02
LATENCY_BIN_LOW_SECONDS = 1e-4
LATENCY_BIN_COUNT = 1000
LATENCY_RELATIVE_ERROR = math.sqrt(LATENCY_BIN_RATIO) - 1  # 0.995 %
_LOG_LOW = math.log(LATENCY_BIN_LOW_SECONDS)
_LOG_RATIO = math.log(LATENCY_BIN_RATIO)


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
    """The exact ``fraction`` quantile (0-1) of ``values``; None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    lower, weight = rank_position(fraction, len(ordered))
    upper = ordered[lower + 1] if lower + 1 < len(ordered) else None
    return interpolate(ordered[lower], upper, weight)


# --- latency: histogram percentiles --------------------------------------------------------------------------


def latency_bin(seconds: float) -> int:
    """The histogram bin of a latency (``mlops.sql.LatencyBin`` computes the same in SQL)."""
    if seconds < LATENCY_BIN_LOW_SECONDS:
        return 0
    return min(int((math.log(seconds) - _LOG_LOW) / _LOG_RATIO), LATENCY_BIN_COUNT - 1)


def latency_bin_value(index: int) -> float:
    """The value a bin stands for: the geometric midpoint of its bounds."""
    return LATENCY_BIN_LOW_SECONDS * LATENCY_BIN_RATIO ** (index + 0.5)


def latency_histogram(values: Iterable[float]) -> dict[int, int]:
    """Bin -> count of ``values`` (seconds)."""
    counts: dict[int, int] = {}
    for value in values:
        index = latency_bin(value)
        counts[index] = counts.get(index, 0) + 1
    return counts


def histogram_percentile(counts: Mapping[int, int], fraction: float) -> float | None:
    """The ``fraction`` quantile (0-1) of the latencies a histogram (bin -> count) holds; None when it is empty.

    The ranks are the exact definition's; each ranked value is its bin's midpoint.
    """
    total = sum(counts.values())
    if total <= 0:
        return None
    lower, weight = rank_position(fraction, total)
    wanted = [lower] if weight == 0 or lower + 1 >= total else [lower, lower + 1]
    found: list[float] = []
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        while wanted and wanted[0] < seen:
            found.append(latency_bin_value(index))
            wanted.pop(0)
        if not wanted:
            break
    return interpolate(found[0], found[1] if len(found) > 1 else None, weight)


def latency_percentile(values: Iterable[float], fraction: float) -> float | None:
    """The latency ``fraction`` quantile of ``values`` (seconds) as the rollups compute it; None when there are none."""
    return histogram_percentile(latency_histogram(values), fraction)
