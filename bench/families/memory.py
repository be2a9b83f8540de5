"""Web worker memory (RSS) with one model loaded and with two (A/B), against a bare ``import torch`` + one model."""

from __future__ import annotations

import statistics

from bench import ab_memory, resident_memory
from bench.figures import Figure, Target, measured

BASELINE = "bare import torch + one model"


def run(*, quick: bool) -> list[Figure]:
    """Fresh bare processes for the baseline; then one production gunicorn worker serving from the registry through an
    MLflow server (bench/ab_memory.py), its RSS readings with the champion alone and with both models of an A/B
    experiment, against the same bare readings."""
    bare = [resident_memory.measure("bare") for _ in range(1 if quick else 4)]
    # Last: the A/B measurement sets this process's environment to the production stack's.
    ab = ab_memory.measure(uploads=8, samples=4) if quick else ab_memory.measure(uploads=40, samples=8)
    arms = sorted({arm for arm, _version in ab.arms})
    champion = [rss / ab_memory.MB for rss in ab.phases[ab_memory.CHAMPION_ONLY]]
    two_models = [rss / ab_memory.MB for rss in ab.phases[ab_memory.TWO_MODELS]]
    after_ops = statistics.median(ab.phases[ab_memory.OPS_REQUEST]) / ab_memory.MB
    mapped = ", ".join(ab.libraries[ab_memory.TWO_MODELS]) or "none of pandas, pyarrow, scipy, SQLAlchemy, plotly"
    return [
        measured(
            "memory",
            "web worker RSS, model loaded",
            unit="MiB",
            samples=champion,
            baseline_samples=bare,
            baseline_name=BASELINE,
            targets=[Target(1.2)],
            note=(
                "one gunicorn worker of the production stack serving the champion from the registry through the MLflow server, "
                f"uploads over HTTP; after one staff request that reads MLflow (its client loaded): {after_ops:,.0f} MiB"
            ),
        ),  # fmt: skip
        measured(
            "memory",
            "web worker RSS, two models (A/B)",
            unit="MiB",
            samples=two_models,
            baseline_samples=bare,
            baseline_name=BASELINE,
            targets=[Target(1.5)],
            note=f"the same worker during a running experiment; arms that answered: {', '.join(arms) or 'none'}; mapped: {mapped}",
        ),  # fmt: skip
    ]
