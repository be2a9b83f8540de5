"""Web worker memory (RSS) with the model loaded, against a bare ``import torch`` + one model; fresh processes, alternated."""

from __future__ import annotations

from bench.figures import Figure, Target, measured, not_measured
from bench.resident_memory import measure

BASELINE = "bare import torch + one model"


def run(*, quick: bool) -> list[Figure]:
    """Pairs of fresh processes (bare, then web worker), so that both see the same machine."""
    bare, web = [], []
    for _ in range(1 if quick else 4):
        bare.append(measure("bare"))
        web.append(measure("web"))
    return [
        measured(
            "memory",
            "web worker RSS, model loaded",
            unit="MiB",
            samples=web,
            baseline_samples=bare,
            baseline_name=BASELINE,
            targets=[Target(1.2)],
        ),  # fmt: skip
        not_measured(
            "memory",
            "web worker RSS, two models (A/B)",
            baseline_name=BASELINE,
            targets=[Target(1.5)],
            reason="A/B serving of two models is not in this code base yet (model lifecycle work)",
        ),  # fmt: skip
    ]
