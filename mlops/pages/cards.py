"""Metric cards: a figure of this period with its change against the previous period of the same length."""

from __future__ import annotations

from dataclasses import dataclass

HIGHER_IS_BETTER = "higher"
LOWER_IS_BETTER = "lower"
NEUTRAL = "neutral"


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    change: str = ""  # "+12 % vs previous 7 days"; empty when there is nothing to compare
    tone: str = ""  # "better", "worse" or "" (no judgement)
    detail: str = ""
    level: str = ""  # "good", "acceptable", "low": the value's own band, where thresholds exist


def _number(value: float | int | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "percent":  # value in [0, 1]
        return f"{value * 100:.1f} %"
    if kind == "rate":  # value already in percent
        return f"{value:.2f} %"
    if kind == "seconds":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:g}"


def change_text(current: float | None, previous: float | None, kind: str) -> str:
    """The change from the previous period: relative for counts, in points for rates and shares, absolute for latency."""
    if current is None or previous is None:
        return ""
    difference = current - previous
    if kind == "count":
        if previous == 0:
            return "none before" if current else "no change"
        return f"{difference / previous * 100:+.0f} %"
    if kind == "percent":
        return f"{difference * 100:+.1f} points"
    if kind == "rate":
        return f"{difference:+.2f} points"
    if kind == "seconds":
        return f"{difference * 1000:+.0f} ms"
    return f"{difference:+g}"


def tone_of(current: float | None, previous: float | None, better: str) -> str:
    if current is None or previous is None or better == NEUTRAL or current == previous:
        return ""
    improved = current > previous if better == HIGHER_IS_BETTER else current < previous
    return "better" if improved else "worse"


def card_compare(
    key: str,
    label: str,
    current: float | None,
    previous: float | None,
    *,
    kind: str,
    better: str,
    period: str,
    detail: str = "",
    level: str = "",
) -> Card:
    """A card for a figure measured over this period and the previous one."""
    change = change_text(current, previous, kind)
    if previous is None:
        change = f"no figure for the previous {period}" if current is not None else ""
    elif change == "none before":
        change = f"none in the previous {period}"
    elif change:
        change = f"{change} vs previous {period} ({_number(previous, kind)})"
    return Card(
        key=key,
        label=label,
        value=_number(current, kind),
        change=change,
        tone=tone_of(current, previous, better),
        detail=detail,
        level=level,
    )


def card_now(key: str, label: str, value: float | None, *, kind: str, detail: str = "", level: str = "") -> Card:
    """A card for a figure that is a state of now (no previous period to compare with)."""
    return Card(key=key, label=label, value=_number(value, kind), change="current state", detail=detail, level=level)
