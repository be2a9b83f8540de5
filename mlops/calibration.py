"""Calibration and label-free accuracy from binned confidences: pure NumPy, no Django.

The monitoring selectors aggregate confidences into equal-width bins in SQL; the
functions here take those per-bin sums (or raw arrays, through ``bin_confidences``)
so the same arithmetic serves a million rows and a unit test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReliabilityBin:
    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    accuracy: float | None

    @property
    def gap(self) -> float | None:
        """Accuracy minus confidence: negative when the model is overconfident in this bin."""
        if self.count == 0:
            return None
        return self.accuracy - self.mean_confidence

    def as_dict(self) -> dict:
        return {
            "bin": f"{self.lower:.2f}-{self.upper:.2f}",
            "lower": self.lower,
            "upper": self.upper,
            "count": self.count,
            "mean_confidence": self.mean_confidence,
            "accuracy": self.accuracy,
            "gap": self.gap,
        }


def bin_edges(bins: int) -> np.ndarray:
    if bins < 1:
        raise ValueError("bins must be at least 1")
    return np.linspace(0.0, 1.0, bins + 1)


def bin_index(confidences: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bin of each confidence in [0, 1]; 1.0 falls in the last bin (as in the SQL)."""
    return np.clip(np.floor(np.asarray(confidences, dtype=float) * bins).astype(int), 0, bins - 1)


def bin_confidences(confidences, correct, *, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin (count, sum of confidences, number correct) of raw arrays; the SQL selectors return the same triple."""
    confidences = np.asarray(confidences, dtype=float)
    correct = np.asarray(correct, dtype=float)
    if confidences.shape != correct.shape:
        raise ValueError("confidences and correct must have the same length")
    index = bin_index(confidences, bins)
    counts = np.bincount(index, minlength=bins)
    confidence_sums = np.bincount(index, weights=confidences, minlength=bins)
    correct_counts = np.bincount(index, weights=correct, minlength=bins)
    return counts, confidence_sums, correct_counts


def reliability_table(counts, confidence_sums, correct_counts) -> list[ReliabilityBin]:
    """One row per equal-width bin: how many predictions, their mean confidence and how many were right."""
    counts = np.asarray(counts, dtype=float)
    bins = len(counts)
    edges = bin_edges(bins)
    rows = []
    for index in range(bins):
        count = int(counts[index])
        rows.append(
            ReliabilityBin(
                lower=float(edges[index]),
                upper=float(edges[index + 1]),
                count=count,
                mean_confidence=float(confidence_sums[index]) / count if count else None,
                accuracy=float(correct_counts[index]) / count if count else None,
            )
        )
    return rows


def expected_calibration_error(table: list[ReliabilityBin]) -> float | None:
    """ECE: the count-weighted mean of |accuracy - confidence| over the bins; None without labels."""
    total = sum(row.count for row in table)
    if total == 0:
        return None
    return float(sum(row.count * abs(row.gap) for row in table if row.count) / total)


def maximum_calibration_error(table: list[ReliabilityBin]) -> float | None:
    gaps = [abs(row.gap) for row in table if row.count]
    return float(max(gaps)) if gaps else None


def estimated_accuracy(recent_counts, recent_confidence_sums, labelled: list[ReliabilityBin] | None = None) -> dict:
    """Accuracy of unlabelled predictions estimated from their confidences (confidence-based performance estimation).

    ``raw`` trusts the confidences (right for a calibrated model): the mean
    confidence. ``calibrated`` first maps each bin's confidence to the accuracy the
    labelled predictions of that bin reached (histogram binning); bins without
    labels keep their mean confidence. Returns None estimates when nothing is binned.
    """
    counts = np.asarray(recent_counts, dtype=float)
    sums = np.asarray(recent_confidence_sums, dtype=float)
    total = counts.sum()
    if total == 0:
        return {"raw": None, "calibrated": None, "prediction_count": 0, "calibrated_bins": 0}
    raw = float(sums.sum() / total)
    if labelled is None:
        return {"raw": raw, "calibrated": None, "prediction_count": int(total), "calibrated_bins": 0}
    if len(labelled) != len(counts):
        raise ValueError("the labelled reliability table must use the same bins")
    expected_correct = 0.0
    calibrated_bins = 0
    for index, row in enumerate(labelled):
        if counts[index] == 0:
            continue
        if row.count:
            expected_correct += counts[index] * row.accuracy
            calibrated_bins += 1
        else:
            expected_correct += sums[index]
    return {"raw": raw, "calibrated": float(expected_correct / total), "prediction_count": int(total), "calibrated_bins": calibrated_bins}


def accuracy_change_test(*, first_correct: int, first_total: int, last_correct: int, last_total: int) -> dict | None:
    """Two-proportion z-test of a change in accuracy between two labelled samples; None when a sample is empty.

    Returns the change, the z statistic and the two-sided p-value (pooled standard error).
    """
    if first_total <= 0 or last_total <= 0:
        return None
    from scipy.stats import norm

    first = first_correct / first_total
    last = last_correct / last_total
    pooled = (first_correct + last_correct) / (first_total + last_total)
    standard_error = np.sqrt(pooled * (1 - pooled) * (1 / first_total + 1 / last_total))
    if standard_error == 0:
        z, p_value = 0.0, 1.0
    else:
        z = (last - first) / standard_error
        p_value = float(2 * norm.sf(abs(z)))
    return {"change": last - first, "z": float(z), "p_value": p_value}
