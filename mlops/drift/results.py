"""What the drift tests return: results, checks, the whole analysis, and the configuration they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

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


def finite_values(values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)]


def insufficient_result(name: str, threshold: float, n_baseline: int, n_recent: int, min_samples: int) -> DriftTestResult:
    return DriftTestResult(
        name=name, statistic=None, p_value=None, distance=None, threshold=threshold,
        n_baseline=n_baseline, n_recent=n_recent, verdict=INSUFFICIENT_DATA, details={"min_samples": min_samples},
    )


def has_enough(n_baseline: int, n_recent: int, min_samples: int) -> bool:
    return n_baseline >= min_samples and n_recent >= min_samples
