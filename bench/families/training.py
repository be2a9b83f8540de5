"""Training on generated photos of a realistic size (10 classes x 375 + 125) with ``train``'s defaults.

Baselines from the same run: the bare batched forward pass of the same network on ready tensors (timed before and
after the run, bench/training_speed.py), and the linear probe on the same cached features, which the recipe trains
first (caching + probe = that baseline's time). The issue's reference run of the previous recipe on real Food-101
took 321 s per 1,000 photos; the target is half of that.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.figures import Figure, Target, measured_once
from bench.stand_in_photos import write_stand_in_dataset
from bench.training_speed import REFERENCE, TARGET_SECONDS_PER_1000, measure

BUDGET_MINUTES = 30.0
FORWARD = "bare batched forward pass (batch 32, 224 px), same run"


def run(*, quick: bool) -> list[Figure]:
    """One run of ``train`` with its defaults (``--quick``: 4 % of the photos and of the budget)."""
    scale = 0.04 if quick else 1.0
    classes, train, test = 10, round(375 * scale), round(125 * scale)
    budget = BUDGET_MINUTES * scale
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-training-") as tmp:
        dataset = write_stand_in_dataset(Path(tmp) / "photos", classes=classes, train=train, test=test)
        run_figures = measure(dataset, budget_minutes=budget, overrides={})
    return figures_of(run_figures, shape=f"{classes} classes × {train} + {test} generated photos", budget_minutes=budget)


def figures_of(measured: dict, *, shape: str, budget_minutes: float) -> list[Figure]:
    """The table's rows from one measured run (``bench.training_speed.measure``)."""
    rate = measured["forward_photos_per_second"]
    recipe = f"{measured['views_used']} views, {measured['epochs_run']} epochs, budget {budget_minutes:.1f} min"
    return [
        measured_once(
            "training", f"training time, {shape}", unit="s", value=measured["total_seconds"], baseline=measured["probe_done_seconds"],
            baseline_name="caching + linear probe on the same cached features", targets=[Target(budget_minutes * 60, of="value")],
            note=recipe,
        ),
        measured_once(
            "training", f"seconds per 1,000 photos, {shape}", unit="s", value=measured["seconds_per_1000_photos"],
            baseline=1000 / rate, baseline_name=f"1,000 photos through the {FORWARD}",
            targets=[Target(TARGET_SECONDS_PER_1000, of="value")],
            note=f"half of the issue's {REFERENCE['seconds_per_1000_photos']:.0f} s (previous recipe, real Food-101); {recipe}",
        ),
        measured_once(
            "training", f"caching pass, photos/s, {shape}", unit="photos/s", value=measured["caching_photos_per_second"], baseline=rate,
            baseline_name=FORWARD, target_note="reported (each training photo is cached as several views)",
            note=f"{measured['views_used']} views of each training photo, 2 of each test photo",
        ),
        measured_once(
            "training", f"fine-tuning epoch, {shape}", unit="s", value=measured["seconds_per_epoch"],
            baseline=measured["training_photos"] / rate, baseline_name=f"one {FORWARD} per training photo",
            target_note="reported", note=f"threads per epoch {measured['threads_per_epoch']}",
        ),
        measured_once(
            "training", f"test accuracy, {shape}", unit="", value=measured["accuracy"], baseline=measured["probe_accuracy"],
            baseline_name="linear probe on the same cached features",
            target_note="reported, not asserted (generated photos say nothing about Food-101)",
        ),
    ]  # fmt: skip
