"""Training on generated photos of a realistic size (10 classes x 375 + 125) against the linear probe on the same cached
features, which the recipe trains first in the same run (caching + probe = the baseline's time)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.figures import Figure, Target, measured_once
from bench.stand_in_photos import write_stand_in_dataset
from bench.training_speed import run_training

BUDGET_MINUTES = 30.0


def run(*, quick: bool) -> list[Figure]:
    """One run of ``train`` with its defaults (``--quick``: 4 % of the photos and of the budget)."""
    scale = 0.04 if quick else 1.0
    classes, train, test = 10, round(375 * scale), round(125 * scale)
    budget = BUDGET_MINUTES * scale
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-training-") as tmp:
        dataset = write_stand_in_dataset(Path(tmp) / "photos", classes=classes, train=train, test=test)
        _, result = run_training(dataset, budget, {}, profile=False)
    timings = result.timings
    probe_seconds = timings["total_seconds"] - timings["finetune_seconds"]
    shape = f"{classes} classes × {train} + {test} generated photos"
    return [
        measured_once(
            "training", f"training time, {shape}", unit="s", value=timings["total_seconds"], baseline=probe_seconds,
            baseline_name="caching + linear probe on the same cached features", targets=[Target(BUDGET_MINUTES * 60 * scale, of="value")],
            note=f"budget {budget:.1f} min, {result.params['views_used']} views, {result.params['epochs_run']} epochs",
        ),
        measured_once(
            "training", f"test accuracy, {shape}", unit="", value=result.report.accuracy, baseline=result.probe_report.accuracy,
            baseline_name="linear probe on the same cached features",
            target_note="reported, not asserted (generated photos say nothing about Food-101)",
        ),
    ]  # fmt: skip
