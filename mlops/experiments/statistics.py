"""The statistics of an A/B test: Wilson intervals, the two-proportion z-test, Mann-Whitney U, sample size and the verdict.

Pure Python and scipy, no Django: counts and arrays in, numbers and a plain-language verdict out.
Accuracy is the primary metric (feedback: the share of labelled predictions the user confirmed);
latency is compared on its own, with a rank test because latencies are skewed. ``scipy.stats`` (~70 MiB)
is imported where it computes: the upload path imports this module (through the experiment selectors).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05
POWER = 0.8
# The normal approximation behind the z-test and the sample-size formula is trusted only when each
# arm has at least this many right and this many wrong answers (the usual np >= 5 rule).
MIN_OUTCOMES_PER_CELL = 5


def wilson_interval(successes: int, trials: int, *, confidence: float = 0.95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion; None without trials.

    Unlike the Wald interval it stays inside [0, 1] and keeps its coverage near 0 and 1 and for small samples.
    """
    from scipy import stats

    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be between 0 and trials ({trials}), got {successes}")
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half_width = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


@dataclass(frozen=True)
class ProportionTest:
    difference: float  # second minus first
    z: float
    p_value: float


def two_proportion_z_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int) -> ProportionTest | None:
    """Two-sided z-test of equal proportions with the pooled variance; None when an arm has no trials or nothing varies."""
    from scipy import stats

    if trials_a <= 0 or trials_b <= 0:
        return None
    share_a, share_b = successes_a / trials_a, successes_b / trials_b
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance == 0:
        return None  # every answer right (or every one wrong) in both arms: no evidence either way
    z = (share_b - share_a) / math.sqrt(variance)
    return ProportionTest(difference=share_b - share_a, z=z, p_value=float(2 * stats.norm.sf(abs(z))))


@dataclass(frozen=True)
class RankTest:
    statistic: float  # U of the second sample
    p_value: float
    median_difference: float  # median of the second minus median of the first


def mann_whitney(values_a: Sequence[float], values_b: Sequence[float]) -> RankTest | None:
    """Two-sided Mann-Whitney U test that neither sample tends to be larger; None when a sample is empty or all values tie."""
    from scipy import stats

    if not len(values_a) or not len(values_b):
        return None
    if len(set(values_a) | set(values_b)) < 2:
        return None
    result = stats.mannwhitneyu(values_b, values_a, alternative="two-sided")
    median_difference = float(_median(values_b) - _median(values_a))
    return RankTest(statistic=float(result.statistic), p_value=float(result.pvalue), median_difference=median_difference)


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def sample_size_two_proportions(rate_a: float, rate_b: float, *, alpha: float = ALPHA, power: float = POWER) -> int:
    """Labelled predictions needed per arm to detect ``rate_a`` vs ``rate_b`` with a two-sided test (Fleiss, no continuity correction).

    n = (z_{1-alpha/2} sqrt(2 p(1-p)) + z_{power} sqrt(p_a(1-p_a) + p_b(1-p_b)))^2 / (p_a - p_b)^2, p the mean rate.
    """
    from scipy import stats

    if rate_a == rate_b:
        raise ValueError("the two rates must differ to have a sample size")
    if not (0 <= rate_a <= 1 and 0 <= rate_b <= 1):
        raise ValueError("rates are between 0 and 1")
    mean = (rate_a + rate_b) / 2
    z_alpha = float(stats.norm.ppf(1 - alpha / 2))
    z_power = float(stats.norm.ppf(power))
    spread = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(rate_a * (1 - rate_a) + rate_b * (1 - rate_b))
    return math.ceil(spread * spread / (rate_a - rate_b) ** 2)


class Verdict:
    BETTER = "challenger_better"
    WORSE = "challenger_worse"
    NOT_YET = "not_yet"
    NO_DIFFERENCE = "no_difference"


@dataclass(frozen=True)
class ArmOutcome:
    """Labelled predictions of one arm and how many of them were right."""

    labelled: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.labelled if self.labelled else None


@dataclass(frozen=True)
class AccuracyVerdict:
    kind: str
    text: str
    test: ProportionTest | None
    needed_per_arm: int | None  # labelled predictions per arm the power calculation asks for
    more_per_arm: int | None  # of which still missing (for "not yet")


def _enough_for_normal_approximation(arm: ArmOutcome) -> bool:
    return arm.correct >= MIN_OUTCOMES_PER_CELL and arm.labelled - arm.correct >= MIN_OUTCOMES_PER_CELL


def planning_rates(champion: ArmOutcome, challenger: ArmOutcome, *, minimum_effect: float) -> tuple[float, float]:
    """The two rates the power calculation plans for: the champion's observed accuracy (0.5, the most
    demanding, before any label) against a challenger off by the observed difference or by
    ``minimum_effect``, whichever is larger, in the observed direction (kept inside [0, 1])."""
    base = champion.accuracy if champion.accuracy is not None else 0.5
    observed = (challenger.accuracy - base) if challenger.accuracy is not None else 0.0
    effect = max(abs(observed), minimum_effect)
    direction = 1 if observed >= 0 else -1
    other = base + direction * effect
    if not 0 <= other <= 1:
        other = base - direction * effect
    return base, min(1.0, max(0.0, other))


def accuracy_verdict(
    champion: ArmOutcome, challenger: ArmOutcome, *, minimum_effect: float, alpha: float = ALPHA, power: float = POWER
) -> AccuracyVerdict:
    """The plain verdict on accuracy: better, worse, or not yet with about how many more labels per arm.

    Significant (two-sided z-test, ``alpha``) with both arms large enough for the normal approximation:
    better or worse by the sign. Otherwise the power calculation says how many labels per arm would detect
    the larger of the observed difference and ``minimum_effect``; when both arms already have that many,
    the honest answer is "no significant difference" (a difference that large would most likely have shown).
    """
    test = two_proportion_z_test(champion.correct, champion.labelled, challenger.correct, challenger.labelled)
    enough = _enough_for_normal_approximation(champion) and _enough_for_normal_approximation(challenger)
    if test is not None and enough and test.p_value < alpha:
        points = abs(test.difference) * 100
        kind, word = (Verdict.BETTER, "better") if test.difference > 0 else (Verdict.WORSE, "worse")
        text = f"challenger {word}: accuracy {points:.1f} points {'higher' if test.difference > 0 else 'lower'} (p = {test.p_value:.3g})"
        return AccuracyVerdict(kind=kind, text=text, test=test, needed_per_arm=None, more_per_arm=None)
    rate_a, rate_b = planning_rates(champion, challenger, minimum_effect=minimum_effect)
    needed = max(
        sample_size_two_proportions(rate_a, rate_b, alpha=alpha, power=power),
        # The normal-approximation floor: enough labels for MIN_OUTCOMES_PER_CELL of the rarer outcome.
        math.ceil(MIN_OUTCOMES_PER_CELL / max(min(rate_a, 1 - rate_a), 1e-9)),
    )
    have = min(champion.labelled, challenger.labelled)
    if have >= needed and enough:
        text = (
            f"no significant difference: with {have} labelled predictions per arm a difference of "
            f"{abs(rate_b - rate_a) * 100:.1f} points or more would most likely have shown"
        )
        return AccuracyVerdict(kind=Verdict.NO_DIFFERENCE, text=text, test=test, needed_per_arm=needed, more_per_arm=0)
    # A rarer outcome than planned can leave an arm short of the floor after ``needed``: then ask for one more at least.
    more = max(needed - have, 1)
    text = f"no significant difference yet — about {more} more labelled predictions per arm needed"
    return AccuracyVerdict(kind=Verdict.NOT_YET, text=text, test=test, needed_per_arm=needed, more_per_arm=more)


def latency_verdict(champion: Sequence[float], challenger: Sequence[float], *, alpha: float = ALPHA) -> tuple[str, RankTest | None]:
    """Which arm answers faster, by the Mann-Whitney U test on the two arms' latencies."""
    test = mann_whitney(champion, challenger)
    if test is None:
        return "not enough timed predictions to compare latency", None
    if test.p_value >= alpha:
        return f"no significant latency difference (Mann-Whitney p = {test.p_value:.3g})", test
    if test.median_difference == 0:
        return f"latency distributions differ, equal medians (Mann-Whitney p = {test.p_value:.3g})", test
    word = "slower" if test.median_difference > 0 else "faster"
    milliseconds = abs(test.median_difference) * 1000
    return f"challenger {word}: median {milliseconds:.1f} ms {word} (Mann-Whitney p = {test.p_value:.3g})", test
