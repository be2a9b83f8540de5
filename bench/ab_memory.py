"""Resident memory of a gunicorn web worker serving one model, then two during an A/B test.

Starts one gunicorn worker (gunicorn.conf.py, production settings with DEBUG on for local hosts)
against a throwaway folder: SQLite database, media, and an MLflow store where the bundled
EfficientNet-Lite0 is version 1 (champion) and a copy with a nudged head is version 2. Uploads go
through HTTP to POST /api/v1/predict without cookies, so each is a new anonymous session. The
worker's RSS (/proc) is read after start-up, after uploads answered by the champion alone, after
uploads during a running experiment (challenger share 0.5; both arms checked in the rows), and
after the experiment stopped (the challenger is released; whether the allocator gives the pages
back to the system is what "after stop" shows).

    .venv/bin/python bench/ab_memory.py [--uploads 20]

``python -m bench`` runs the same measurement (``measure``) as part of its ``memory`` family.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
CHAMPION_ONLY = "champion only"
TWO_MODELS = "experiment running: champion + challenger"


@dataclass
class ABMemory:
    """RSS readings (bytes) of the one gunicorn worker per phase, and the (arm, version) pairs that answered."""

    phases: dict[str, list[int]]
    arms: list[tuple[str, str]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=40, help="uploads per phase (default 40)")
    parser.add_argument("--samples", type=int, default=8, help="RSS readings per phase, after equal rounds of its uploads (default 8)")
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(workdir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nutrilearn.settings",
        "DJANGO_DEBUG": "1",
        "NUTRILEARN_VAR_DIR": str(workdir / "var"),
        "DJANGO_MEDIA_ROOT": str(workdir / "media"),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "MLFLOW_ARTIFACT_ROOT": (workdir / "artifacts").as_uri(),
        "NUTRILEARN_MODEL_SOURCE": "registry",
        "NUTRILEARN_PREDICT_RATE": "10000/minute",
        "GUNICORN_WORKERS": "1",
        # The first /readyz loads the champion: on a busy shared machine that has taken over a minute.
        "GUNICORN_TIMEOUT": "300",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": "filesystem://",  # never the caller's Redis; the messages stay in the throwaway folder
        "REDIS_URL": "",
    }


def prepare(workdir: Path) -> None:
    """Migrate, load the catalogue, register version 1 (champion) and version 2 (a nudged copy)."""
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    from django.conf import settings

    Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]).mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0, interactive=False)

    from mlops.mlflow_store import registry
    from mlops.services import bundled_model_register
    from predictions.inference import bundled_weights_path, imagenet_manifest, load_state_dict
    from predictions.services import food_catalogue_load

    food_catalogue_load()
    bundled_model_register()
    weights = load_state_dict(bundled_weights_path(), expected_sha256=None)
    weights["_fc.bias"] = weights["_fc.bias"] + 0.01
    registry.artefact_write(workdir / "v2", manifest=imagenet_manifest(""), state_dict=weights)
    registry.version_register(artefact_dir=workdir / "v2", description="nudged copy for the A/B memory benchmark")


def photo() -> bytes:
    import skimage
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(Path(skimage.__file__).parent / "data" / "coffee.png").convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def worker_rss(master: int) -> int:
    """The one gunicorn worker's resident set size in bytes, from /proc (Linux)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"expected one gunicorn worker, found {len(children)}")
    for line in Path(f"/proc/{children[0]}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("no VmRSS line in the worker's /proc status")


def phase_rss(base: str, data: bytes, master: int, *, uploads: int, samples: int) -> list[int]:
    """RSS after each of ``samples`` rounds of uploads: one reading is noisy (the allocator keeps and returns pages)."""
    readings = []
    for _ in range(samples):
        upload(base, data, max(1, uploads // samples))
        gc.collect()
        readings.append(worker_rss(master))
    return readings


def upload(base: str, data: bytes, count: int) -> None:
    import requests

    for _ in range(count):
        response = requests.post(f"{base}/api/v1/predict", files={"image": ("meal.jpg", data, "image/jpeg")}, timeout=60)
        response.raise_for_status()


def wait_ready(base: str, deadline_seconds: float = 300) -> None:
    import requests

    started = time.monotonic()
    while time.monotonic() - started < deadline_seconds:
        try:
            if requests.get(f"{base}/readyz", timeout=deadline_seconds).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.5)
    raise SystemExit("the web worker did not become ready")


def measure(*, uploads: int, samples: int) -> ABMemory:
    """One gunicorn worker on a throwaway folder: its RSS after start-up, with the champion alone, during an A/B
    experiment (both models loaded) and after it stopped. Sets this process's environment to the worker's."""
    with tempfile.TemporaryDirectory(prefix="ab-memory-") as folder:
        workdir = Path(folder)
        port = free_port()
        env = environment(workdir, port)
        os.environ.update(env)
        prepare(workdir)
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "nutrilearn.wsgi"], cwd=ROOT, env=env)
        try:
            wait_ready(base)  # /readyz loads the champion
            phases = {"after /readyz (champion loaded)": [worker_rss(server.pid)]}
            data = photo()
            phases[CHAMPION_ONLY] = phase_rss(base, data, server.pid, uploads=uploads, samples=samples)

            from mlops.experiments.services import experiment_create, experiment_start, experiment_stop
            from predictions.models import Prediction

            experiment = experiment_create(champion_version="1", challenger_version="2", challenger_share=0.5)
            experiment_start(experiment_id=experiment.pk)
            phases[TWO_MODELS] = phase_rss(base, data, server.pid, uploads=uploads, samples=samples)
            arms = sorted(set(Prediction.objects.filter(ab_experiment=experiment).values_list("ab_arm", "model_version")))
            experiment_stop(experiment_id=experiment.pk)
            phases["after the experiment stopped"] = phase_rss(base, data, server.pid, uploads=uploads, samples=samples)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    return ABMemory(phases=phases, arms=arms)


def main() -> None:
    args = parse_args()
    result = measure(uploads=args.uploads, samples=args.samples)
    print(f"arms and versions that answered during the experiment: {result.arms}")
    print(f"weights file of one model: {bundled_weights_size() / MB:.1f} MB")
    baseline = statistics.median(result.phases[CHAMPION_ONLY])
    for label, readings in result.phases.items():
        middle = statistics.median(readings)
        print(
            f"{label:42s} RSS median {middle / MB:7.1f} MB (min {min(readings) / MB:7.1f}, max {max(readings) / MB:7.1f}; "
            f"{(middle - baseline) / MB:+6.1f} MB against the champion alone)"
        )


def bundled_weights_size() -> int:
    from predictions.inference import bundled_weights_path

    return bundled_weights_path().stat().st_size


if __name__ == "__main__":
    main()
