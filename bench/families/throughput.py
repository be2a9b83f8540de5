"""Predict throughput under concurrency on the production stack (gunicorn with 2 workers of 1 thread, as
gunicorn.conf.py ships, HTTP end to end), against bare forward passes per second with the same parallelism (2 threads,
each its own network, 1 torch thread each, as each gunicorn worker has). Two clients per worker keep every worker busy.
Rounds alternate the two, so that both see the same load on the machine."""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.figures import Figure, Target, measured
from bench.predict_latency import build_jpegs
from bench.process_cpu import cpu_spent, stack_cpu

WORKERS, THREADS_PER_WORKER, CLIENTS_PER_WORKER = 2, 1, 2


def forward_rate(seconds: float) -> tuple[float, float]:
    """Forward passes per second of ``WORKERS`` threads, each with its own classifier on a ready 1x3x224x224 tensor,
    and the CPU seconds per pass."""
    import torch

    from predictions.inference import FoodClassifier, bundled_network, imagenet_manifest

    torch.set_num_threads(1)
    classifiers = [FoodClassifier(bundled_network(), imagenet_manifest("")) for _ in range(WORKERS)]
    tensor = torch.randn(1, 3, 224, 224)
    for classifier in classifiers:
        classifier.forward(tensor)  # warm-up
    started = time.process_time()
    calls, elapsed = _calls_of(lambda index: classifiers[index].forward(tensor), threads=WORKERS, seconds=seconds)
    return calls / elapsed, (time.process_time() - started) / calls


def http_rate(url: str, photo: bytes, seconds: float) -> tuple[float, int]:
    """Uploads answered 201 per second with ``WORKERS x CLIENTS_PER_WORKER`` clients posting one after another, and how
    many were answered."""
    from tests.support.stack import multipart_photo

    body, content_type = multipart_photo(photo)

    def upload(_: int) -> None:
        request = urllib.request.Request(f"{url}/api/v1/predict", data=body, headers={"Content-Type": content_type}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            if response.status != 201:
                raise RuntimeError(f"predict answered {response.status}")

    calls, elapsed = _calls_of(upload, threads=WORKERS * CLIENTS_PER_WORKER, seconds=seconds)
    return calls / elapsed, calls


def _calls_of(call, *, threads: int, seconds: float) -> tuple[int, float]:
    """Calls made by ``threads`` threads calling ``call(thread_index)`` for ``seconds``, and the seconds they took; an
    error in a thread is raised."""
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
    return sum(counts), time.perf_counter() - started


def run(*, quick: bool) -> list[Figure]:
    """Start the production stack, warm both workers up, then alternate rounds of bare forward passes and HTTP uploads.

    Each round also reads the CPU time spent, from /proc: per bare forward pass (this process), and per upload by every
    process of the stack (web workers, PostgreSQL backends of its databases, MLflow server, Celery, Redis) and by the
    clients (this process). The note gives the medians, and the ratio that CPU time alone allows: bare CPU per pass over
    the stack's CPU per upload, what the figure would be if both sides kept the cores equally busy.
    """
    from tests.support.stack import ProductionStack

    rounds, seconds = (2, 8.0) if quick else (3, 20.0)
    photo = build_jpegs()["1024x768"]
    bare, http, bare_cpu, upload_cpu = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-throughput-") as tmp:
        env = {"NUTRILEARN_PREDICT_RATE": "1000000/minute", "LOG_LEVEL": "WARNING", "GUNICORN_THREADS": str(THREADS_PER_WORKER)}
        stack = ProductionStack(Path(tmp), extra_env=env)
        try:
            stack.start()
            databases = (stack.app_db.name, stack.mlflow_db.name)
            http_rate(stack.url, photo, 5.0)  # each worker loads its model on its first upload
            for _ in range(rounds):
                rate, cpu_per_pass = forward_rate(seconds)
                bare.append(rate)
                bare_cpu.append(cpu_per_pass)
                before, started = stack_cpu(databases=databases), time.process_time()
                rate, uploads = http_rate(stack.url, photo, seconds)
                http.append(rate)
                spent = {**cpu_spent(before, stack_cpu(databases=databases)), "clients": time.process_time() - started}
                upload_cpu.append({group: spent_seconds / uploads for group, spent_seconds in spent.items()})
        finally:
            stack.stop()
    return [
        measured(
            "throughput", "predict throughput, production stack over HTTP (1024×768 JPEG)", unit="predictions/s", samples=http,
            baseline_samples=bare, baseline_name=f"bare forward passes, {WORKERS} threads", targets=[Target(0.8, at_most=False)],
            note=(
                f"{WORKERS} gunicorn workers × {THREADS_PER_WORKER} thread, {WORKERS * CLIENTS_PER_WORKER} clients, "
                f"{seconds:.0f} s each; {cpu_note(bare_cpu, upload_cpu)}"
            ),
        )
    ]  # fmt: skip


def cpu_note(bare_cpu: list[float], upload_cpu: list[dict[str, float]]) -> str:
    """Median CPU per upload by group against per bare forward pass, and the ratio that CPU time alone allows."""
    groups = {group for reading in upload_cpu for group in reading}
    medians = {group: statistics.median([reading.get(group, 0.0) for reading in upload_cpu]) for group in groups}
    per_group = dict(sorted(medians.items(), key=lambda item: -item[1]))
    forward, total = statistics.median(bare_cpu), statistics.median([sum(reading.values()) for reading in upload_cpu])
    parts = ", ".join(f"{group} {1000 * value:.1f}" for group, value in per_group.items())
    return (
        f"CPU ms per upload: {parts} (total {1000 * total:.1f}) against {1000 * forward:.1f} per bare forward pass; "
        f"CPU time alone allows {forward / total:.2f}×"
    )
