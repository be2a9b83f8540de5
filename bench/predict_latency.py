"""Median latency of POST /api/v1/predict against the bare forward pass of the same network.

Runs in-process through Django's test client, against a throwaway SQLite database,
media folder and var/ folder in a temporary directory (it never touches var/). Two
JPEGs are built in memory from scikit-image's coffee.png, upscaled with Pillow and
saved at quality 90: 1024x768 and 4000x3000 (12 MP).

Each round times one bare forward pass of the served network on a ready
1x3x224x224 tensor, then one request per photo, so that all three series see the
same background load. Reported per photo: the median server-side
processing_time_seconds from the response (reading the multipart upload, validation,
decoding, preprocessing, inference), the median wall time of the whole request (plus
middleware, storing the photo, the database write, the after-commit enqueue and the
JSON response), and both as a ratio
to the median forward pass. Targets: <= 1.5x for 1024x768, <= 2.0x for 12 MP
(server-side). Also printed: the median time of validating and decoding each photo alone.

    .venv/bin/python -m bench.predict_latency [--rounds 30] [--warmup 5] [--threads N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

if not __package__:  # run as a file (python bench/predict_latency.py): the project root is not on the path yet
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.django_setup import configure_django  # noqa: E402

TARGETS = {"1024x768": 1.5, "4000x3000": 2.0}
SIZES = {"1024x768": (1024, 768), "4000x3000": (4000, 3000)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed requests per photo (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per photo first (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: NUTRILEARN_TORCH_THREADS)")
    parser.add_argument("--profile", action="store_true", help="cProfile the 12 MP requests and print the top functions")
    return parser.parse_args()


def build_jpegs() -> dict[str, bytes]:
    import skimage
    from PIL import Image

    source = Image.open(Path(skimage.__file__).parent / "data" / "coffee.png").convert("RGB")
    photos = {}
    for label, size in SIZES.items():
        buffer = io.BytesIO()
        source.resize(size, Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=90)
        photos[label] = buffer.getvalue()
    return photos


def post_photo(client, data: bytes) -> tuple[float, float]:
    """One request; returns (server-side processing time, wall time) in seconds."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("meal.jpg", data, content_type="image/jpeg")
    started = time.perf_counter()
    response = client.post("/api/v1/predict", {"image": upload})
    wall = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"predict answered {response.status_code}: {response.content[:300]!r}")
    body = response.json()
    return body["prediction"]["processing_time_seconds"], wall


def time_forward(classifier, tensor) -> float:
    started = time.perf_counter()
    classifier.forward(tensor)
    return time.perf_counter() - started


def time_decode(data: bytes) -> float:
    """Validation and decoding alone (predictions.images.decode_upload), the part of a request that grows with the photo."""
    from predictions.images import decode_upload
    from predictions.services import upload_limits

    started = time.perf_counter()
    decode_upload(data, limits=upload_limits())
    return time.perf_counter() - started


@dataclass
class LatencyRun:
    """Per-round timings in seconds: the bare forward pass, and per photo the server-side time, wall time and decoding alone."""

    threads: int
    input_size: int
    photo_bytes: dict[str, int]
    forward: list[float] = field(default_factory=list)
    server: dict[str, list[float]] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)
    decode: dict[str, list[float]] = field(default_factory=dict)


def measure(*, rounds: int, warmup: int) -> LatencyRun:
    """Interleaved rounds (forward pass, then one request per photo) in a Django already configured by ``configure_django``."""
    import torch
    from django.test import Client

    from predictions.services import food_catalogue_load
    from predictions.serving import get_served_model

    food_catalogue_load()
    photos = build_jpegs()
    client = Client()
    classifier = get_served_model().classifier  # loads, sets the thread count, warms up
    size = classifier.manifest.input_size
    tensor = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))

    for _ in range(warmup):
        time_forward(classifier, tensor)
        for data in photos.values():
            post_photo(client, data)

    run = LatencyRun(threads=torch.get_num_threads(), input_size=size, photo_bytes={label: len(data) for label, data in photos.items()})
    run.server, run.wall, run.decode = ({label: [] for label in photos} for _ in range(3))
    for _ in range(rounds):
        run.forward.append(time_forward(classifier, tensor))
        for label, data in photos.items():
            seconds, elapsed = post_photo(client, data)
            run.server[label].append(seconds)
            run.wall[label].append(elapsed)
            run.decode[label].append(time_decode(data))
    return run


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-") as tmp:
        configure_django(Path(tmp), environ={"NUTRILEARN_TORCH_THREADS": str(args.threads)} if args.threads else None)

        import torch

        run = measure(rounds=args.rounds, warmup=args.warmup)
        forward = run.forward
        size = run.input_size
        forward_ms = statistics.median(forward) * 1000
        print(
            f"torch {torch.__version__}, {run.threads} threads, {os.cpu_count()} cores; "
            f"{args.rounds} rounds after {args.warmup} warm-up; in-process test client, SQLite"
        )
        print(
            f"bare forward pass, 1x3x{size}x{size} tensor: median {forward_ms:.1f} ms "
            f"(min {min(forward) * 1000:.1f}, max {max(forward) * 1000:.1f})"
        )
        if forward_ms > 1.3 * min(forward) * 1000:
            print("warning: the median forward pass is over 1.3x its minimum: the machine was busy, the ratios are unreliable")
        met = True
        for label, size_bytes in run.photo_bytes.items():
            server_ms = statistics.median(run.server[label]) * 1000
            wall_ms = statistics.median(run.wall[label]) * 1000
            ratio = server_ms / forward_ms
            ok = ratio <= TARGETS[label]
            met &= ok
            print(
                f"{label} JPEG ({size_bytes / 1024:.0f} KiB): server-side median {server_ms:.1f} ms = {ratio:.2f}x forward "
                f"(target <= {TARGETS[label]}x: {'met' if ok else 'MISSED'}); "
                f"wall median {wall_ms:.1f} ms = {wall_ms / forward_ms:.2f}x"
            )
            decode_ms = statistics.median(run.decode[label]) * 1000
            print(f"    validating and decoding the photo alone (timed separately): median {decode_ms:.1f} ms")

        if args.profile:
            from django.test import Client

            client, photo = Client(), build_jpegs()["4000x3000"]
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.rounds):
                post_photo(client, photo)
            profiler.disable()
            print("\ncProfile of the 12 MP requests (cumulative time):")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
