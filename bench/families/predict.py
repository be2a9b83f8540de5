"""Predict latency, server-side median, of a 1024x768 and a 12 MP JPEG over the bare forward pass of the same rounds."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.django_setup import configure_django
from bench.figures import Figure, Target, measured
from bench.predict_latency import TARGETS, measure

NAMES = {"1024x768": "predict latency, 1024×768 JPEG, server-side", "4000x3000": "predict latency, 12 MP JPEG, server-side"}


def run(*, quick: bool) -> list[Figure]:
    """Interleaved rounds in-process (Django test client, SQLite): each round one forward pass, then one request per photo."""
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-predict-") as tmp:
        configure_django(Path(tmp))
        result = measure(rounds=8 if quick else 30, warmup=2 if quick else 5)
    return [
        measured(
            "predict",
            NAMES[label],
            unit="s",
            samples=result.server[label],
            baseline_samples=result.forward,
            baseline_name=f"bare forward pass, ready tensor ({result.threads} torch thread{'s' if result.threads > 1 else ''})",
            targets=[Target(TARGETS[label])],
            extra={"wall_median": sorted(result.wall[label])[len(result.wall[label]) // 2], "photo_bytes": result.photo_bytes[label]},
        )  # fmt: skip
        for label in result.server
    ]
