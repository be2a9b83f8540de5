"""The promotion guardrail: McNemar's test on two models' per-image correctness on the same held-out images.

Pure Python and SciPy, no Django. An evaluation on a labelled folder keeps, for each photo, whether
the model was right, keyed by a stable image id (its path in the folder and the sha256 of its bytes),
and the key of the whole set; two evaluations are compared on the images they share.

"Worse" is defined once, here: the challenger is worse when its accuracy on the shared images is
below the champion's by more than the tolerance (percentage points) AND McNemar's test rejects equal
accuracy at the 5 % level. A lower accuracy that the test cannot tell from chance does not block
a promotion; neither does a significant loss within the tolerance. ``scipy.stats`` (~70 MiB) is
imported where the test computes: a web worker's URLconf imports this module (through ``mlops.services``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

SIGNIFICANCE_LEVEL = 0.05
# Below this many discordant pairs the chi-square approximation is poor; the exact binomial test is used.
EXACT_BELOW_DISCORDANT = 25


class NoSharedImages(ValueError):
    """The two evaluations have no image in common: they cannot be compared."""


def image_id(*, root: Path, path: Path, sha256: str) -> str:
    """The stable id of a photo of a labelled folder: its path relative to the folder and its content's sha256."""
    return f"{Path(path).relative_to(root).as_posix()}#{sha256}"


def evaluation_set_key(image_ids: Iterable[str]) -> str:
    """One key for a set of images, whatever their order: evaluations with equal keys were made on the same photos."""
    digest = hashlib.sha256()
    for identifier in sorted(image_ids):
        digest.update(identifier.encode())
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class PairedComparison:
    """The champion and the challenger on the images both were evaluated on, with McNemar's test."""

    images: int
    both_right: int
    champion_only_right: int  # b: the discordant pairs the champion wins
    challenger_only_right: int  # c: the discordant pairs the challenger wins
    both_wrong: int
    champion_accuracy: float
    challenger_accuracy: float
    difference_points: float  # challenger minus champion, in percentage points
    p_value: float
    method: str  # "exact binomial" or "chi-square with continuity correction"

    def as_dict(self) -> dict:
        return asdict(self)


def mcnemar_p_value(champion_only_right: int, challenger_only_right: int) -> tuple[float, str]:
    """Two-sided p-value of McNemar's test from the two discordant counts, and the method used.

    Exact (twice the binomial tail of the smaller count, capped at 1) below EXACT_BELOW_DISCORDANT
    discordant pairs, else chi-square with Edwards' continuity correction; 1.0 without discordant pairs.
    """
    from scipy.stats import binom, chi2

    discordant = champion_only_right + challenger_only_right
    if discordant == 0:
        return 1.0, "exact binomial"
    if discordant < EXACT_BELOW_DISCORDANT:
        tail = binom.cdf(min(champion_only_right, challenger_only_right), discordant, 0.5)
        return float(min(1.0, 2.0 * tail)), "exact binomial"
    statistic = (abs(champion_only_right - challenger_only_right) - 1) ** 2 / discordant
    return float(chi2.sf(statistic, 1)), "chi-square with continuity correction"


def paired_comparison(*, champion: Mapping[str, bool], challenger: Mapping[str, bool]) -> PairedComparison:
    """Compare per-image correctness (image id -> right?) on the images both maps hold; NoSharedImages if none."""
    shared = champion.keys() & challenger.keys()
    if not shared:
        raise NoSharedImages("the two evaluations share no image")
    counts = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for identifier in shared:
        counts[(bool(champion[identifier]), bool(challenger[identifier]))] += 1
    total = len(shared)
    champion_right = counts[(True, True)] + counts[(True, False)]
    challenger_right = counts[(True, True)] + counts[(False, True)]
    p_value, method = mcnemar_p_value(counts[(True, False)], counts[(False, True)])
    return PairedComparison(
        images=total,
        both_right=counts[(True, True)],
        champion_only_right=counts[(True, False)],
        challenger_only_right=counts[(False, True)],
        both_wrong=counts[(False, False)],
        champion_accuracy=champion_right / total,
        challenger_accuracy=challenger_right / total,
        difference_points=100.0 * (challenger_right - champion_right) / total,
        p_value=p_value,
        method=method,
    )


def is_worse(comparison: PairedComparison, *, tolerance_points: float) -> bool:
    """The module's definition of "worse": below the champion by more than the tolerance, and significantly so."""
    return comparison.difference_points < -tolerance_points and comparison.p_value < SIGNIFICANCE_LEVEL


def comparison_summary(comparison: PairedComparison, *, tolerance_points: float) -> str:
    """One sentence a person reads on the confirmation page and in the API."""
    figures = (
        f"on {comparison.images} shared images the challenger is right on {comparison.challenger_accuracy:.1%} and the champion on "
        f"{comparison.champion_accuracy:.1%} ({comparison.difference_points:+.1f} points; {comparison.challenger_only_right} images "
        f"only the challenger gets right, {comparison.champion_only_right} only the champion; McNemar p = {comparison.p_value:.3g})"
    )
    tolerance = f"{tolerance_points:g} point{'' if tolerance_points == 1 else 's'}"
    if is_worse(comparison, tolerance_points=tolerance_points):
        return f"Worse: {figures}, a significant loss beyond the tolerance of {tolerance}."
    return f"Not worse: {figures}; the tolerance is {tolerance} at the 5 % level."
