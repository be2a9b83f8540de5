"""Upload latency with shadow mode on against off: waits for the model lifecycle work (shadow serving) to land."""

from __future__ import annotations

from bench.figures import Figure, Target, not_measured


def run(*, quick: bool) -> list[Figure]:
    """A row saying why nothing is measured yet; replace with the measurement once shadow serving exists."""
    return [
        not_measured(
            "shadow",
            "upload latency with shadow mode on",
            baseline_name="shadow off",
            targets=[Target(1.05)],
            reason="shadow mode is not in this code base yet (model lifecycle work)",
        )  # fmt: skip
    ]
