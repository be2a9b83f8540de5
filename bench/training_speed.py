"""Training speed: `train` on generated Food-101-like photos, against the bare batched forward pass of the same network.

The reference run of the issue (10 Food-101 classes, 3,750 training and 1,250 test photos, the
default 30-minute budget, beside a running web server and worker) took 321 s per 1,000 photos.
This benchmark builds stand-in photos of the same size and encoding (bench/stand_in_photos.py)
in a temporary folder, runs the training recipe with its defaults (pure PyTorch, no Django and
no MLflow) and reports, next to absolute figures that depend on how busy the machine is:

- caching: photos per second of the caching pass (test photos and all training views), as a
  share of the bare forward rate (photos/s of ``network(batch)`` on ready tensors);
- fine-tuning: seconds per epoch, as forward passes per training photo (epoch seconds x
  forward rate / training photos): a full forward and backward pass of the tail costs about one;
- overall: seconds per 1,000 photos, and the same as a multiple of 1,000 bare forward passes.

The forward pass is timed before and after the run (batch 32, 224 px, eager, the faster of one
thread and one per core, the way the machine is loaded at that moment) and the mean is the baseline.
``--scale 0.2`` runs a proportional fifth (75 + 25 photos per class, budget 6 minutes) when the
machine is too busy for the full run.

    .venv/bin/python bench/training_speed.py [--scale 1.0] [--dataset DIR] [--views N] [--epochs N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not __package__:  # run as a file (python bench/training_speed.py): the project root is not on the path yet
    sys.path.insert(0, str(ROOT))
REFERENCE = {"seconds_per_1000_photos": 321.0, "probe_accuracy": 0.754, "served_accuracy": 0.806}  # the run on real Food-101
TARGET_SECONDS_PER_1000 = REFERENCE["seconds_per_1000_photos"] / 2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 10 x (375 + 125) photo run, budget scaled alike (1.0)")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--dataset", type=Path, help="an existing train/ + test/ folder instead of generating one")
    parser.add_argument("--views", type=int, help="override the recipe's views")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--unfreeze-blocks", type=int, help="override the recipe's unfrozen blocks")
    parser.add_argument("--ema-decay", type=float, help="override the recipe's weight average (0 = off)")
    parser.add_argument("--image-size", type=int, help="override the recipe's input size")
    parser.add_argument("--cache-memory-gb", type=float, help="override where the cache goes (0 = on disk)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="cProfile the whole run and print the top functions")
    return parser.parse_args(argv)


def forward_rate(seconds: float = 6.0) -> float:
    """Photos per second of the bare eager forward pass on ready 32 x 3 x 224 x 224 batches, best of 1 thread and all cores."""
    import torch

    from predictions.inference import bundled_network

    network = bundled_network()
    batch = torch.randn(32, 3, 224, 224)
    before = torch.get_num_threads()
    rates = []
    for threads in sorted({1, before}):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            network(batch)
            started, photos = time.perf_counter(), 0
            while time.perf_counter() - started < seconds / 2:
                network(batch)
                photos += len(batch)
        rates.append(photos / (time.perf_counter() - started))
    torch.set_num_threads(before)
    return max(rates)


def mirrored_latency_ratio(rounds: int = 20) -> float:
    """Median latency of one photo's forward pass with test-time augmentation (photo + mirror) over without, interleaved."""
    import torch

    from predictions.inference import FoodClassifier, bundled_network, imagenet_manifest

    classifier = FoodClassifier(bundled_network(), imagenet_manifest(""))
    photo = torch.randn(1, 3, 224, 224)
    plain, mirrored = [], []
    for _ in range(rounds + 3):
        for mirror, series in ((False, plain), (True, mirrored)):
            started = time.perf_counter()
            classifier.forward(photo, mirrored=mirror)
            series.append(time.perf_counter() - started)
    return round(statistics.median(mirrored[3:]) / statistics.median(plain[3:]), 2)


def run_training(dataset: Path, budget_minutes: float, overrides: dict, profile: bool):
    from mlops.training import TrainingConfig, train

    try:
        from mlops.datasets import dataset_scan
    except ImportError:  # a checkout from before dataset scanning had its own module: measuring the previous recipe
        from mlops.training import dataset_scan
    from predictions.inference import bundled_weights_path, load_state_dict

    split = dataset_scan(dataset)
    known = {f.name for f in fields(TrainingConfig)}
    config = TrainingConfig(time_budget_minutes=budget_minutes, **{k: v for k, v in overrides.items() if k in known})
    base = load_state_dict(bundled_weights_path(), expected_sha256=None)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    result = train(split, config, base_state_dict=base, progress=sys.stderr.isatty(), log=lambda line: print(f"  {line}", flush=True))
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())
    return split, result


def measure(dataset: Path, *, budget_minutes: float, overrides: dict, profile: bool = False) -> dict:
    """One run of the recipe on ``dataset`` between two timings of the bare batched forward pass; every figure."""
    baseline = [forward_rate()]
    split, result = run_training(dataset, budget_minutes, overrides, profile)
    baseline.append(forward_rate())
    tta_latency = mirrored_latency_ratio()
    rate = statistics.mean(baseline)
    timings, history = result.timings, result.history
    photos = len(split.train) + len(split.test)
    epoch_seconds = statistics.mean(row["seconds"] for row in history) if history else 0.0
    caching_rate = photos / timings["cache_seconds"]
    return {
        "photos": photos,
        "training_photos": len(split.train),
        "forward_photos_per_second": round(rate, 2),
        "forward_photos_per_second_before_after": [round(r, 2) for r in baseline],
        "caching_photos_per_second": round(caching_rate, 2),
        "caching_share_of_forward_rate": round(caching_rate / rate, 3),
        "seconds_per_epoch": round(epoch_seconds, 2),
        "epoch_forward_passes_per_training_photo": round(epoch_seconds * rate / len(split.train), 3),
        "seconds_per_1000_photos": timings["seconds_per_1000_images"],
        "total_in_forward_passes_per_photo": round(timings["seconds_per_1000_images"] * rate / 1000, 2),
        "total_seconds": timings["total_seconds"],
        "probe_done_seconds": round(timings["total_seconds"] - timings["finetune_seconds"], 3),
        "budget_seconds": budget_minutes * 60,
        "views_used": result.params["views_used"],
        "epochs_run": result.params["epochs_run"],
        "probe_accuracy": result.probe_report.accuracy,
        "accuracy": result.report.accuracy,
        **getattr(result, "ablations", {}),
        "threads_per_epoch": [row.get("threads") for row in history],
        "serving_latency_with_tta_ratio": tta_latency,
        "cache_on_disk": result.params.get("cache_on_disk", False),
        "peak_memory_mib_main_process": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    from bench.stand_in_photos import write_stand_in_dataset

    budget = 30.0 * args.scale
    overrides = {
        "views": args.views, "epochs": args.epochs, "unfreeze_blocks": args.unfreeze_blocks, "ema_decay": args.ema_decay,
        "image_size": args.image_size, "cache_memory_gb": args.cache_memory_gb, "seed": args.seed,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-") as folder:
        dataset = args.dataset
        if dataset is None:
            train_n, test_n = round(375 * args.scale), round(125 * args.scale)
            print(f"generating {args.classes} x ({train_n} + {test_n}) stand-in photos ...", flush=True)
            dataset = write_stand_in_dataset(Path(folder) / "photos", classes=args.classes, train=train_n, test=test_n, seed=args.seed)
        figures = measure(dataset, budget_minutes=budget, overrides=overrides, profile=args.profile)
    print()
    print(f"{'figure':48s} {'value':>12s}")
    for name, value in figures.items():
        print(f"{name:48s} {value!s:>12s}")
    print(f"\nreference (real Food-101, issue): {REFERENCE['seconds_per_1000_photos']:.0f} s per 1,000 photos; target "
          f"< {TARGET_SECONDS_PER_1000:.0f}. Accuracy on stand-in photos says nothing about Food-101.")
    return figures


if __name__ == "__main__":
    main()
