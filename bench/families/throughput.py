"""Predict throughput under concurrency on the production stack (gunicorn with 2 workers of 1 thread, as
gunicorn.conf.py ships, HTTP end to end), against bare forward passes per second with the same parallelism (2 threads,
each its own network, 1 torch thread each, as each gunicorn worker has). Two clients per worker keep every worker busy.
Rounds alternate the two, so that both see the same load on the machine."""

from __future__ import annotations

import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.figures import Figure, Target, measured
from bench.predict_latency import build_jpegs

WORKERS, THREADS_PER_WORKER, CLIENTS_PER_WORKER = 2, 1, 2


def forward_rate(seconds: float) -> float:
    """Forward passes per second of ``WORKERS`` threads, each with its own classifier on a ready 1x3x224x224 tensor."""
    import torch

    from predictions.inference import FoodClassifier, build_efficientnet_lite0, bundled_weights_path, imagenet_manifest, load_state_dict

    torch.set_num_threads(1)
    state = load_state_dict(bundled_weights_path(), expected_sha256=None)
    classifiers = []
    for _ in range(WORKERS):
        network = build_efficientnet_lite0(1000)
        network.load_state_dict(state)
        classifiers.append(FoodClassifier(network, imagenet_manifest("")))
    tensor = torch.randn(1, 3, 224, 224)
    for classifier in classifiers:
        classifier.forward(tensor)  # warm-up
    return _rate_of(lambda index: classifiers[index].forward(tensor), threads=WORKERS, seconds=seconds)


def http_rate(url: str, photo: bytes, seconds: float) -> float:
    """Uploads answered 201 per second with ``WORKERS x CLIENTS_PER_WORKER`` clients posting one after another."""
    from tests.support.stack import multipart_photo

    body, content_type = multipart_photo(photo)

    def upload(_: int) -> None:
        request = urllib.request.Request(f"{url}/api/v1/predict", data=body, headers={"Content-Type": content_type}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            if response.status != 201:
                raise RuntimeError(f"predict answered {response.status}")

    return _rate_of(upload, threads=WORKERS * CLIENTS_PER_WORKER, seconds=seconds)


def _rate_of(call, *, threads: int, seconds: float) -> float:
    """Calls per second of ``threads`` threads calling ``call(thread_index)`` for ``seconds``; an error in a thread is raised."""
    counts, errors = [0] * threads, []
    deadline = time.perf_counter() + seconds

    def loop(index: int) -> None:
        try:
            while time.perf_counter() < deadline:
                call(index)
                counts[index] += 1
        except Exception as error:  # any failure, handed to the main thread, which raises it
            errors.append(error)

    started = time.perf_counter()
    workers = [threading.Thread(target=loop, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return sum(counts) / (time.perf_counter() - started)


def run(*, quick: bool) -> list[Figure]:
    """Start the production stack, warm both workers up, then alternate rounds of bare forward passes and HTTP uploads."""
    from tests.support.stack import ProductionStack

    rounds, seconds = (2, 8.0) if quick else (3, 20.0)
    photo = build_jpegs()["1024x768"]
    bare, http = [], []
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-throughput-") as tmp:
        env = {"NUTRILEARN_PREDICT_RATE": "1000000/minute", "LOG_LEVEL": "WARNING", "GUNICORN_THREADS": str(THREADS_PER_WORKER)}
        stack = ProductionStack(Path(tmp), extra_env=env)
        try:
            stack.start()
            http_rate(stack.url, photo, 5.0)  # each worker loads its model on its first upload
            for _ in range(rounds):
                bare.append(forward_rate(seconds))
                http.append(http_rate(stack.url, photo, seconds))
        finally:
            stack.stop()
    return [
        measured(
            "throughput", "predict throughput, production stack over HTTP (1024×768 JPEG)", unit="predictions/s", samples=http,
            baseline_samples=bare, baseline_name=f"bare forward passes, {WORKERS} threads", targets=[Target(0.8, at_most=False)],
            note=(
                f"{WORKERS} gunicorn workers × {THREADS_PER_WORKER} thread, {WORKERS * CLIENTS_PER_WORKER} clients, "
                f"{seconds:.0f} s each"
            ),
        )
    ]  # fmt: skip
