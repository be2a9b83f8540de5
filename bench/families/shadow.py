"""Upload latency with shadow mode on against off: alternated uploads, a real shadow worker on a Redis of its own."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from bench.figures import Figure, Target, measured
from bench.shadow_latency import TARGET_RATIO, measure, own_redis


def run(*, quick: bool) -> list[Figure]:
    """Pairs of uploads (off, then on) through the test client while the shadow worker answers the "on" ones."""
    rounds, warmup, gap = (10, 2, 0.2) if quick else (40, 5, 0.2)
    # A redis-server of its own: the measurement flushes its broker, which must not be a database others use.
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-shadow-") as tmp, own_redis(Path(tmp)) as broker:
        result = measure(Path(tmp), broker=broker, rounds=rounds, warmup=warmup, gap=gap)
    lag = f"median upload-to-answer {statistics.median(result.lags):.2f} s" if result.lags else "no answer"
    return [
        measured(
            "shadow",
            "upload latency with shadow mode on",
            unit="s",
            samples=result.on,
            baseline_samples=result.off,
            baseline_name="shadow off, same rounds",
            targets=[Target(TARGET_RATIO)],
            note=f"1024×768 JPEG, {gap:g} s apart; shadow worker answered {result.answered} of {result.shadowed} ({lag})",
        )  # fmt: skip
    ]
