"""One measured figure: value, the baseline or peer measured in the same run, their ratio over repeats, the target.

Pure data and arithmetic (no Django; percentiles are the project's one definition): every figure family
builds these, the report writes them.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

from mlops.percentiles import percentile


@dataclass(frozen=True)
class Target:
    """A bound on the ratio (``of="ratio"``) or on the value itself (``of="value"``); ``at_most`` or at least ``limit``."""

    limit: float
    of: str = "ratio"
    at_most: bool = True

    def met(self, figure: Figure) -> bool | None:
        measured = figure.ratio if self.of == "ratio" else figure.value
        if measured is None:
            return None
        return measured <= self.limit if self.at_most else measured >= self.limit

    def describe(self, unit: str) -> str:
        sign = "≤" if self.at_most else "≥"
        if self.of == "ratio" or unit == "×":
            return f"{sign} {self.limit:g}×"
        return f"{sign} {_number(self.limit)} {unit}".rstrip()


@dataclass
class Figure:
    """A headline figure. ``value`` and ``baseline`` are medians over ``repeats``; ``ratio_*`` are over per-repeat ratios."""

    family: str
    name: str
    unit: str = ""
    value: float | None = None
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    ratio_min: float | None = None
    ratio_max: float | None = None
    repeats: int = 0
    targets: list[Target] = field(default_factory=list)
    target_note: str = ""  # a target no number states ("reported, not asserted", "flat or logarithmic")
    note: str = ""
    samples: list[float] = field(default_factory=list)  # the value's raw repeats, for plots
    baseline_samples: list[float] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # plot data beyond samples (e.g. cost against rows)

    @property
    def measured(self) -> bool:
        return self.value is not None

    @property
    def passed(self) -> bool | None:
        """True or False when every target could be checked, None when there is nothing to check."""
        verdicts = [target.met(self) for target in self.targets]
        if not verdicts or None in verdicts:
            return None
        return all(verdicts)

    @property
    def target_text(self) -> str:
        parts = [target.describe(self.unit) for target in self.targets]
        if self.target_note:
            parts.append(self.target_note)
        return ", ".join(parts)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["passed"] = self.passed
        data["target"] = self.target_text
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Figure:
        known = {name: value for name, value in data.items() if name in cls.__dataclass_fields__}
        known["targets"] = [Target(**target) for target in known.get("targets", [])]
        return cls(**known)


def measured(
    family: str,
    name: str,
    *,
    unit: str,
    samples: list[float],
    baseline_samples: list[float] | None = None,
    baseline_name: str = "",
    targets: list[Target] | None = None,
    statistic: str = "median",
    **more,
) -> Figure:
    """A figure from raw repeats; ratios are per repeat when the baseline was measured in the same rounds (same length),
    else each repeat over the baseline's median, and the ratio is their median. ``statistic="p95"`` reports the 95th
    percentile of the repeats (and its ratio to the baseline's median) instead."""
    value = percentile(samples, 0.95) if statistic == "p95" else statistics.median(samples)
    baseline = statistics.median(baseline_samples) if baseline_samples else None
    ratio = ratio_min = ratio_max = None
    if baseline:
        if statistic == "median" and len(baseline_samples) == len(samples):
            ratios = [v / b for v, b in zip(samples, baseline_samples, strict=True)]
        else:
            ratios = [v / baseline for v in samples]
        ratio = statistics.median(ratios) if statistic == "median" else value / baseline
        ratio_min, ratio_max = min(ratios), max(ratios)
    return Figure(
        family=family, name=name, unit=unit, value=value, baseline=baseline, baseline_name=baseline_name, ratio=ratio,
        ratio_min=ratio_min, ratio_max=ratio_max, repeats=len(samples), targets=targets or [], samples=list(samples),
        baseline_samples=list(baseline_samples or []), **more,
    )  # fmt: skip


def measured_once(family: str, name: str, *, unit: str, value: float, baseline: float | None = None, **more) -> Figure:
    """A figure measured once (a whole training run, a lag phase): the ratio, if any, is the only one."""
    ratio = value / baseline if baseline else None
    return Figure(family=family, name=name, unit=unit, value=value, baseline=baseline, ratio=ratio, ratio_min=ratio, ratio_max=ratio,
                  repeats=1, **more)  # fmt: skip


def not_measured(family: str, name: str, *, reason: str, baseline_name: str = "", targets: list[Target] | None = None,
                 target_note: str = "") -> Figure:  # fmt: skip
    """A row of the table that this run could not measure, with the reason in place of a value."""
    return Figure(family=family, name=name, baseline_name=baseline_name, targets=targets or [], target_note=target_note,
                  note=f"not measured: {reason}")  # fmt: skip


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"
