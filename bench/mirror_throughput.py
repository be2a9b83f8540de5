"""Mirroring predictions into MLflow: sustained rate, one MLflow run per prediction on a sample, and mirror lag under load.

Everything runs against a throwaway SQLite database, MLflow SQLite store, media and
var/ folder in a temporary directory (it never touches var/).

1. Sustained rate: N predictions are inserted (bulk, spread over the last hour, random
   foods/confidences/latencies), then drained by ``mlops.mirror.mirror_pending`` called
   in-process: the real code path of the Celery task (claim, serving runs, log_batch,
   marking rows, JobRun rows, window aggregates), minus the broker. The MLflow store is
   in-process SQLite, so the CPU time of this process is nearly all the work; the rate
   per CPU-second is printed too, as it depends less on what else runs on the machine.
2. The run-per-prediction baseline (the student project's approach) on a sample, in the same run and store: per prediction one
   MLflow run via MlflowClient (create_run, log_param food_name and user_id,
   log_metric confidence and processing_time_seconds, set_terminated). Ratio = 1 / 2.
3. Mirror lag: a redis-server and a real Celery worker process
   (``-Q celery,mlflow -c 1``) are started; this process then POSTs meal photos to
   /api/v1/predict (Django test client, one request after another: the endpoint's
   maximum rate on this machine) for S seconds. Each upload enqueues the mirror task
   after commit. Lag of a prediction = its ``mirrored_at`` - its ``created_at`` (both
   stamped by the database rows' writers with the same clock); p50 / p99 / max over all
   uploads of the phase, after waiting for the last ones.
4. The cost of the after-commit enqueue with the broker up and with it stopped (the
   upload path must not slow down while Redis is down), and the median upload wall time
   in both states.

    .venv/bin/python -m bench.mirror_throughput [--quick] [--predictions N] [--seed-sample M] [--lag-seconds S] [--threads T]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

if not __package__:  # run as a file (python bench/mirror_throughput.py): the project root is not on the path yet
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.django_setup import configure_django  # noqa: E402

TARGET_RATE = 2000.0
TARGET_RATIO = 40.0
TARGET_LAG_P99 = 10.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run: 5,000 predictions, 100 seed runs, 20 s of uploads")
    parser.add_argument("--predictions", type=int, default=None, help="predictions drained in phase 1 (default 20,000)")
    parser.add_argument("--seed-sample", type=int, default=None, help="predictions mirrored one run per prediction (default 300)")
    parser.add_argument("--lag-seconds", type=float, default=None, help="seconds of uploads at full rate in phase 3 (default 60)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of this (web) process (default 1: with a worker on the same 2 cores, 2 threads oversubscribe them"
        " and the endpoint's rate collapses several-fold)",
    )
    args = parser.parse_args()
    args.predictions = args.predictions or (5000 if args.quick else 20000)
    args.seed_sample = args.seed_sample or (100 if args.quick else 300)
    args.lag_seconds = args.lag_seconds or (20.0 if args.quick else 60.0)
    return args


def fill(count: int) -> None:
    from django.utils import timezone

    from predictions.models import Food
    from predictions.services import food_catalogue_load
    from tests.mlops.factories import prediction_row, predictions_insert

    food_catalogue_load()
    foods = list(Food.objects.all())
    rng = random.Random(0)
    rows = []
    for _ in range(count):
        no_food = rng.random() < 0.05
        rows.append(
            prediction_row(
                food=None if no_food else rng.choice(foods),
                no_food=no_food,
                confidence=rng.uniform(0.2, 1.0),
                latency=rng.uniform(0.05, 0.4),
                model_version="bench",
                mirrored=False,
                image_sha256=f"{rng.getrandbits(256):064x}",
            )
        )
    # Spread over the last hour, so that windows hold several predictions each.
    predictions_insert(rows, at=timezone.now() - timedelta(hours=1), spacing=timedelta(hours=1) / max(1, count))


def measure_mirror_rate(count: int) -> tuple[float, dict]:
    from mlops import mirror, mlflow_store
    from predictions.models import Prediction

    mlflow_store.experiment_id()  # create the store and experiment before the clock starts
    started, cpu_started = time.perf_counter(), time.process_time()
    report = mirror.mirror_pending(max_seconds=3600)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    left = Prediction.objects.filter(mirrored_at__isnull=True).count()
    if left:
        raise SystemExit(f"{left} of {count} predictions were not mirrored")
    return count / elapsed, {"seconds": elapsed, "cpu_rate": count / cpu, **report.as_dict()}


def measure_seed_rate(sample: int, *, experiment_name: str = "seed-approach") -> float:
    """The baseline: one MLflow run per prediction, with params and metrics, via MlflowClient (the newest ``sample`` rows)."""
    from django.conf import settings

    from mlops import mlflow_store
    from predictions.models import Prediction

    client = mlflow_store.get_client()
    experiment = client.create_experiment(experiment_name, artifact_location=settings.MLFLOW_ARTIFACT_ROOT)
    rows = list(Prediction.objects.select_related("food").order_by("-id")[:sample])
    started = time.perf_counter()
    for row in rows:
        run = client.create_run(experiment, tags={"run_type": "prediction"})
        run_id = run.info.run_id
        client.log_param(run_id, "food_name", row.food.display_name if row.food else "no food")
        client.log_param(run_id, "user_id", str(row.user_id or "anonymous"))
        client.log_metric(run_id, "confidence", row.confidence)
        client.log_metric(run_id, "processing_time_seconds", row.processing_time_seconds)
        client.set_terminated(run_id)
    return len(rows) / (time.perf_counter() - started)


def meal_photo() -> bytes:
    import skimage
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(Path(skimage.__file__).parent / "data" / "coffee.png").convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def post(client, photo: bytes) -> float:
    from django.core.files.uploadedfile import SimpleUploadedFile

    started = time.perf_counter()
    response = client.post("/api/v1/predict", {"image": SimpleUploadedFile("meal.jpg", photo, content_type="image/jpeg")})
    if response.status_code != 201:
        raise SystemExit(f"upload failed: {response.status_code} {response.content[:300]!r}")
    return time.perf_counter() - started


def measure_lag(workdir: Path, redis, seconds: float) -> dict:
    from django.db import connection
    from django.test import Client

    from mlops.percentiles import percentile
    from predictions.models import Prediction
    from tests.mlops.processes import CeleryWorker, database_url, wait_for, worker_environment

    env = worker_environment(
        database=database_url(connection.settings_dict),
        broker_url=redis.url,
        tracking_uri=os.environ["MLFLOW_TRACKING_URI"],
        artifacts=workdir / "artifacts",
        var_dir=workdir / "var",
        LOG_LEVEL="WARNING",
        NUTRILEARN_MIRROR_SWEEP_SECONDS="30",
        NUTRILEARN_MIRROR_GRACE_SECONDS="30",
        NUTRILEARN_MIRROR_CLAIM_TIMEOUT_SECONDS="120",
    )
    worker = CeleryWorker(workdir, env, name="bench-worker").start()
    try:
        client = Client()
        photo = meal_photo()
        for _ in range(3):
            post(client, photo)  # load and warm the model
        wait_for(lambda: not Prediction.objects.filter(mirrored_at__isnull=True).exists(), timeout=60, what="warm-up mirrored")
        first_id = Prediction.objects.order_by("-id").values_list("id", flat=True).first() + 1
        started = time.perf_counter()
        uploads = 0
        while time.perf_counter() - started < seconds:
            post(client, photo)
            uploads += 1
        elapsed = time.perf_counter() - started
        phase = Prediction.objects.filter(id__gte=first_id)
        wait_for(lambda: not phase.filter(mirrored_at__isnull=True).exists(), timeout=120, what="the uploads mirrored")
    finally:
        worker.stop()
    lags = [(mirrored - created).total_seconds() for created, mirrored in phase.values_list("created_at", "mirrored_at")]
    return {"uploads": uploads, "rate": uploads / elapsed, "p50": percentile(lags, 0.50), "p99": percentile(lags, 0.99), "max": max(lags)}


def measure_enqueue(redis, uploads: int) -> dict:
    from django.test import Client

    from mlops.mirror import mirror_enqueue

    client = Client()
    photo = meal_photo()

    def enqueue_times(n: int) -> list[float]:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            mirror_enqueue()
            times.append(time.perf_counter() - started)
        return times

    up_enqueue = enqueue_times(50)
    up_upload = [post(client, photo) for _ in range(uploads)]
    redis.stop()
    down_enqueue = enqueue_times(50)
    down_upload = [post(client, photo) for _ in range(uploads)]
    redis.start()
    return {
        "enqueue_up_ms": 1000 * statistics.median(up_enqueue),
        "enqueue_down_ms": 1000 * statistics.median(down_enqueue),
        "enqueue_down_max_ms": 1000 * max(down_enqueue),
        "upload_up_ms": 1000 * statistics.median(up_upload),
        "upload_down_ms": 1000 * statistics.median(down_upload),
    }


@contextmanager
def mirror_environment(workdir: Path, *, threads: int) -> Iterator:
    """Django on ``workdir`` with a Redis broker of its own (started here, yielded, stopped on the way out)."""
    from tests.mlops.processes import RedisServer
    from tests.support.network import unused_port

    port = unused_port()
    configure_django(workdir, environ={"CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0", "NUTRILEARN_TORCH_THREADS": str(threads)})
    import logging

    logging.getLogger("mlops.mirror").setLevel(logging.ERROR)  # a stopped broker logs every refused publish
    redis = RedisServer(workdir, port=port).start()
    try:
        yield redis
    finally:
        redis.stop()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="nutrilearn-mirror-bench-") as tmp:
        workdir = Path(tmp)
        with mirror_environment(workdir, threads=args.threads) as redis:
            print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
            fill(args.predictions)
            rate, details = measure_mirror_rate(args.predictions)
            print(f"phase 1: {args.predictions} predictions in {details['seconds']:.2f} s, {details['batches']} batches", flush=True)
            seed_rate = measure_seed_rate(args.seed_sample)
            print(f"phase 2: {args.seed_sample} predictions mirrored one run per prediction", flush=True)
            lag = measure_lag(workdir, redis, args.lag_seconds)
            print(f"phase 3: {lag['uploads']} uploads in {args.lag_seconds:.0f} s", flush=True)
            enqueue = measure_enqueue(redis, uploads=5 if args.quick else 10)
            load = os.getloadavg()[0]

    ratio = rate / seed_rate
    down = f"{enqueue['enqueue_down_ms']:.2f} / {enqueue['enqueue_down_max_ms']:.2f} ms"
    rows = [
        ("sustained mirroring (in-process mirror_pending)", f"{rate:,.0f} predictions/s", f">= {TARGET_RATE:,.0f}", rate >= TARGET_RATE),
        ("  the same per CPU-second of this process", f"{details['cpu_rate']:,.0f} predictions/s", "", None),
        ("one run per prediction", f"{seed_rate:,.1f} predictions/s", "", None),
        ("ratio", f"{ratio:,.0f}x", f">= {TARGET_RATIO:.0f}x", ratio >= TARGET_RATIO),
        ("predict endpoint rate during lag phase", f"{lag['rate']:.1f} uploads/s", "", None),
        ("mirror lag p50 (worker + Redis)", f"{lag['p50']:.2f} s", "", None),
        ("mirror lag p99", f"{lag['p99']:.2f} s", f"<= {TARGET_LAG_P99:.0f} s", lag["p99"] <= TARGET_LAG_P99),
        ("mirror lag max", f"{lag['max']:.2f} s", "", None),
        ("enqueue after commit, Redis up (median)", f"{enqueue['enqueue_up_ms']:.2f} ms", "", None),
        ("enqueue after commit, Redis down (median / max)", down, "", None),
        ("upload wall time, Redis up / down (median)", f"{enqueue['upload_up_ms']:.0f} / {enqueue['upload_down_ms']:.0f} ms", "", None),
    ]
    width = max(len(row[0]) for row in rows)
    print()
    print(f"{'measure':<{width}}  {'value':>26}  {'target':>10}  ok")
    for name, value, target, ok in rows:
        mark = "" if ok is None else ("yes" if ok else "NO")
        print(f"{name:<{width}}  {value:>26}  {target:>10}  {mark}")
    print(f"\nload average at the end: {load:.2f} on {os.cpu_count()} cores (other work on the machine makes these figures noisy)")


if __name__ == "__main__":
    main()
