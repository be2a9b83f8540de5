"""Predict latency, server-side median, of a 1024x768 and a 12 MP JPEG over the bare forward pass of the same rounds."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.django_setup import configure_django
from bench.figures import Figure, Target, measured
from bench.predict_latency import TARGETS, measure

NAMES = {"1024x768": "predict latency, 1024×768 JPEG, server-side", "4000x3000": "predict latency, 12 MP JPEG, server-side"}


def run(*, quick: bool) -> list[Figure]:
    """Interleaved rounds in-process (Django test client, SQLite): each round one forward pass, then one request per photo;
    then the served network's forward pass against the network as published."""
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-predict-") as tmp:
        configure_django(Path(tmp))
        result = measure(rounds=8 if quick else 30, warmup=2 if quick else 5)
        served, published = forward_rounds(rounds=8 if quick else 30)
    threads = f"{result.threads} torch thread{'s' if result.threads > 1 else ''}"
    as_published = statistics.median(published)
    latency = [
        measured(
            "predict",
            NAMES[label],
            unit="s",
            samples=result.server[label],
            baseline_samples=result.forward,
            baseline_name=f"bare forward pass of the served network, ready tensor ({threads})",
            targets=[Target(TARGETS[label])],
            extra={"wall_median": sorted(result.wall[label])[len(result.wall[label]) // 2], "photo_bytes": result.photo_bytes[label]},
            note=f"{statistics.median(result.server[label]) / as_published:.2f}× the network as published ({as_published * 1000:.1f} ms)",
        )  # fmt: skip
        for label in result.server
    ]
    forward = measured(
        "predict",
        "forward pass of the served network, ready tensor",
        unit="s",
        samples=served,
        baseline_samples=published,
        baseline_name=f"the network as published (efficientnet-lite-pytorch, eval mode), same rounds ({threads})",
        target_note="reported",
        note="served: batch norm folded into the convolutions, channels-last (predictions/lite_network.py)",
    )
    return [*latency, forward]


def forward_rounds(*, rounds: int) -> tuple[list[float], list[float]]:
    """Interleaved forward passes on one ready tensor: the served classifier's network, then the network as published."""
    import torch

    from predictions.inference import bundled_network
    from predictions.serving import get_served_model

    classifier = get_served_model().classifier
    published = bundled_network()
    size = classifier.manifest.input_size
    tensor = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    served, reference = [], []
    with torch.inference_mode():
        for index in range(rounds + 3):
            started = time.perf_counter()
            classifier.logits(tensor)
            middle = time.perf_counter()
            published(tensor)
            if index >= 3:  # warm-up
                served.append(middle - started)
                reference.append(time.perf_counter() - middle)
    return served, reference
