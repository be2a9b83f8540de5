"""Mirroring into MLflow: batched throughput against one MLflow run per prediction, and mirror lag at the maximum predict rate."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.figures import Figure, Target, measured, measured_once
from bench.mirror_throughput import (
    TARGET_LAG_P99,
    TARGET_RATE,
    TARGET_RATIO,
    fill,
    measure_lag,
    measure_mirror_rate,
    measure_seed_rate,
    mirror_environment,
)


def run(*, quick: bool) -> list[Figure]:
    """Rounds of (fill, drain with ``mirror_pending``, a sample mirrored one run each), then a lag phase with a real worker."""
    predictions, sample, rounds, lag_seconds = (3_000, 20, 2, 8.0) if quick else (20_000, 300, 3, 60.0)
    rates, seed_rates = [], []
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-mirror-") as tmp, mirror_environment(Path(tmp), threads=1) as redis:
        for index in range(rounds):
            fill(predictions)
            rates.append(measure_mirror_rate(predictions)[0])
            seed_rates.append(measure_seed_rate(sample, experiment_name=f"seed-approach-{index}"))
        lag = measure_lag(Path(tmp), redis, lag_seconds)
    throughput = measured(
        "mirror", "mirroring throughput into MLflow", unit="predictions/s", samples=rates, baseline_samples=seed_rates,
        baseline_name="one MLflow run per prediction", targets=[Target(TARGET_RATIO, at_most=False),
                                                                Target(TARGET_RATE, of="value", at_most=False)],
        note=f"{predictions:,} predictions a round",
    )  # fmt: skip
    lag_figure = measured_once(
        "mirror", "mirror lag p99 at maximum predict rate", unit="s", value=lag["p99"], targets=[Target(TARGET_LAG_P99, of="value")],
        note=f"{lag['uploads']} uploads at {lag['rate']:.1f}/s for {lag_seconds:.0f} s, p50 {lag['p50']:.2f} s, max {lag['max']:.2f} s",
    )  # fmt: skip
    return [throughput, lag_figure]
