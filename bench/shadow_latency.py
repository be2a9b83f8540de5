"""Upload latency with shadow mode on and off: the challenger must never be on the user's path.

Everything runs against a throwaway SQLite database, MLflow SQLite store, media and var/
folder in a temporary directory (it never touches var/). The bundled network is registered
as champion and a copy with slightly changed weights as challenger. A real Celery worker
process consumes the "shadow" queue (``-Q shadow -c 1``, one torch thread) through Redis,
so with shadow mode on the challenger answers each photo on the same machine while the
uploads go on: that competition for the cores is what shadow mode can cost a user.

Rounds alternate off and on (so both see the same background load); each round POSTs one
1024x768 JPEG to /api/v1/predict through Django's test client (in-process web, one torch
thread) and times the whole request. Reported: median and p95 wall time per mode, the
on/off ratio of the medians, and how many uploads of the "on" rounds got their shadow
answer, with the median time from upload to answer.

    .venv/bin/python bench/shadow_latency.py [--rounds 40] [--warmup 5] [--redis redis://127.0.0.1:6379/13]

Without ``--redis`` it starts a redis-server of its own (the run flushes its broker's database first).
``python -m bench`` runs the same measurement (``measure``, in ``own_redis``) as its ``shadow`` family.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

if not __package__:  # run as a file (python bench/shadow_latency.py): the project root is not on the path yet
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.django_setup import ROOT, configure_django  # noqa: E402

TARGET_RATIO = 1.05  # upload latency with shadow mode on over off (issue 11)


@dataclass
class ShadowLatency:
    """Wall times of the uploads per mode (same rounds, alternated), and what the shadow worker answered."""

    off: list[float]
    on: list[float]
    shadowed: int
    answered: int
    agreeing: int
    lags: list[float]
    challenger_version: str


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=40, help="timed uploads per mode (default 40)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed uploads first (default 5)")
    parser.add_argument("--redis", help="the broker for this run, a Redis database it may flush (default: a redis-server of its own)")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between uploads, as from separate users (default 0.2)")
    return parser.parse_args()


def build_jpeg() -> bytes:
    import skimage
    from PIL import Image

    source = Image.open(Path(skimage.__file__).parent / "data" / "coffee.png").convert("RGB")
    buffer = io.BytesIO()
    source.resize((1024, 768), Image.Resampling.BICUBIC).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def register_champion_and_challenger(tmp: Path) -> str:
    from mlops.mlflow_store import registry
    from mlops.services import bundled_model_register
    from predictions.inference import bundled_weights_path, imagenet_manifest, load_state_dict

    bundled_model_register()
    weights = load_state_dict(bundled_weights_path(), expected_sha256=None)
    nudged = {**weights, "_fc.bias": weights["_fc.bias"] + 0.01}
    registry.artefact_write(tmp / "challenger", manifest=imagenet_manifest(""), state_dict=nudged)
    return registry.version_register(artefact_dir=tmp / "challenger", description="bench challenger", aliases=("challenger",)).version


def start_worker(tmp: Path, broker: str) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CELERY_")}
    # The project settings, not the test settings (which pin the bundled model): the worker follows the registry.
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "nutrilearn.settings",
            "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnop",
            "CELERY_BROKER_URL": broker,
            "NUTRILEARN_TORCH_THREADS": "1",
            "NUTRILEARN_MODEL_SOURCE": "registry",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = open(tmp / "worker.log", "w")  # noqa: SIM115 - closed with the process at the end
    worker = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "celery"),
            "-A",
            "nutrilearn",
            "worker",
            "-Q",
            "shadow",
            "-c",
            "1",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
            "-n",
            f"shadow-bench-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while "ready." not in (tmp / "worker.log").read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the shadow worker did not start:\n{(tmp / 'worker.log').read_text()[-3000:]}")
        time.sleep(0.2)
    return worker


def upload(client, data: bytes) -> tuple[int, float]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    started = time.perf_counter()
    response = client.post("/api/v1/predict", {"image": SimpleUploadedFile("meal.jpg", data, content_type="image/jpeg")})
    wall = time.perf_counter() - started
    if response.status_code != 201:
        raise SystemExit(f"predict answered {response.status_code}: {response.content[:300]!r}")
    return response.json()["prediction"]["id"], wall


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


@contextmanager
def own_redis(workdir: Path) -> Iterator[str]:
    """A redis-server of this run's own in ``workdir``; yields its URL, stops it on the way out."""
    from tests.mlops.processes import RedisServer

    server = RedisServer(workdir).start()
    try:
        yield server.url
    finally:
        server.stop()


def measure(workdir: Path, *, broker: str, rounds: int, warmup: int, gap: float) -> ShadowLatency:
    """Alternate uploads with shadow mode off and on (Django on ``workdir``, a shadow worker on ``broker``, flushed first)."""
    configure_django(workdir, environ={"CELERY_BROKER_URL": broker, "NUTRILEARN_TORCH_THREADS": "1"})

    import redis
    from django.test import Client, override_settings

    from mlops.shadow.models import ShadowPrediction
    from predictions.models import Prediction
    from predictions.services import food_catalogue_load

    redis.Redis.from_url(broker).flushdb()
    food_catalogue_load()
    challenger = register_champion_and_challenger(workdir)
    worker = start_worker(workdir, broker)
    try:
        client = Client()
        data = build_jpeg()
        for _ in range(warmup):
            upload(client, data)
        walls: dict[bool, list[float]] = {False: [], True: []}
        shadowed: list[int] = []
        for index in range(2 * rounds):
            enabled = index % 2 == 1
            with override_settings(NUTRILEARN_SHADOW_ENABLED=enabled):
                prediction_id, wall = upload(client, data)
            walls[enabled].append(wall)
            if enabled:
                shadowed.append(prediction_id)
            time.sleep(gap)
        deadline = time.monotonic() + 60
        while ShadowPrediction.objects.filter(prediction_id__in=shadowed).count() < len(shadowed) and time.monotonic() < deadline:
            time.sleep(0.5)
        answers = list(ShadowPrediction.objects.filter(prediction_id__in=shadowed))
        created = dict(Prediction.objects.filter(pk__in=shadowed).values_list("pk", "created_at"))
        lags = [(answer.created_at - created[answer.prediction_id]).total_seconds() for answer in answers]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        if os.environ.get("SHADOW_BENCH_SHOW_WORKER_LOG"):
            print((workdir / "worker.log").read_text()[-4000:])
    return ShadowLatency(
        off=walls[False], on=walls[True], shadowed=len(shadowed), answered=len(answers),
        agreeing=sum(answer.agrees for answer in answers), lags=lags, challenger_version=challenger,
    )  # fmt: skip


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-") as folder:
        workdir = Path(folder)
        with nullcontext(args.redis) if args.redis else own_redis(workdir) as broker:
            result = measure(workdir, broker=broker, rounds=args.rounds, warmup=args.warmup, gap=args.gap)

    off, on = statistics.median(result.off), statistics.median(result.on)
    print(
        f"{os.cpu_count()} cores; web process and shadow worker 1 torch thread each; {args.rounds} uploads per mode, "
        f"alternating, {args.gap:g} s apart, after {args.warmup} warm-up; 1024x768 JPEG; SQLite; Redis {args.redis or 'of its own'}"
    )
    print(f"shadow off: median {off * 1000:.1f} ms, p95 {p95(result.off) * 1000:.1f} ms")
    print(f"shadow on:  median {on * 1000:.1f} ms, p95 {p95(result.on) * 1000:.1f} ms")
    print(f"ratio on/off (medians): {on / off:.2f}")
    print(
        f"challenger version {result.challenger_version} answered {result.answered} of {result.shadowed} shadowed uploads "
        f"({result.agreeing} agreeing); median upload-to-answer {statistics.median(result.lags) if result.lags else float('nan'):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
