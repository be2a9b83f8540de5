"""Web worker memory (RSS) with one model loaded and with two (A/B), against a bare ``import torch`` + one model."""

from __future__ import annotations

import statistics

from bench import ab_memory, resident_memory
from bench.figures import Figure, Target, measured

BASELINE = "bare import torch + one model"


def run(*, quick: bool) -> list[Figure]:
    """Pairs of fresh processes (bare, then web worker), so that both see the same machine; then one gunicorn worker
    through an A/B experiment (bench/ab_memory.py), its RSS readings with both models loaded against the same bare ones."""
    bare, web = [], []
    for _ in range(1 if quick else 4):
        bare.append(resident_memory.measure("bare"))
        web.append(resident_memory.measure("web"))
    # Last: the A/B measurement sets this process's environment to the gunicorn worker's.
    ab = ab_memory.measure(uploads=8, samples=4) if quick else ab_memory.measure(uploads=40, samples=8)
    arms = sorted({arm for arm, _version in ab.arms})
    two_models = [rss / ab_memory.MB for rss in ab.phases[ab_memory.TWO_MODELS]]
    champion_alone = statistics.median(ab.phases[ab_memory.CHAMPION_ONLY]) / ab_memory.MB
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
        measured(
            "memory",
            "web worker RSS, two models (A/B)",
            unit="MiB",
            samples=two_models,
            baseline_samples=bare,
            baseline_name=BASELINE,
            targets=[Target(1.5)],
            note=(
                f"one gunicorn worker during a running experiment, uploads over HTTP; arms that answered: {', '.join(arms) or 'none'}; "
                f"the same worker with the champion alone: {champion_alone:,.0f} MiB"
            ),
        ),  # fmt: skip
    ]
