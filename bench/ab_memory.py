"""Resident memory of a production web worker serving its model from the registry, then two models during an A/B test.

Starts the production stack on loopback (``tests/support/stack.py``: gunicorn, a Celery worker, beat, Redis, an
``mlflow server`` on PostgreSQL with a shared artefact folder, the app on PostgreSQL), with one gunicorn worker so
that every request reaches the worker measured. ``bootstrap`` registered the bundled EfficientNet-Lite0 as version 1
(champion); this process registers a copy with a nudged head as version 2. The worker serves from the registry
through the MLflow server, as in production. Uploads go through HTTP to POST /api/v1/predict without cookies, so
each is a new anonymous session. The worker's RSS (/proc) is read after start-up, after uploads answered by the
champion alone, after uploads during a running experiment (challenger share 0.5; both arms checked in the rows),
after the experiment stopped (the challenger is released; whether the allocator gives the pages back to the
system is what "after stop" shows), and after one staff request that reads MLflow (``GET /api/v1/mlops/experiments``:
the worker loads MLflow's client then, as it does for the ops pages that read MLflow). Each phase also records which
of MLflow's heavy dependencies have their libraries mapped into the worker (``/proc/<pid>/maps``).

    .venv/bin/python bench/ab_memory.py [--uploads 20]

Needs the PostgreSQL server the stack uses (``NUTRILEARN_STACK_PG_URL``, default 127.0.0.1:5432) and redis-server.
``python -m bench`` runs the same measurement (``measure``) as part of its ``memory`` family.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if not __package__:  # run as a file (python bench/ab_memory.py): the project root is not on the path yet
    sys.path.insert(0, str(ROOT))

from bench.resident_memory import rss_mib  # noqa: E402

MB = 1024 * 1024
STARTED = "after /readyz (champion loaded)"
CHAMPION_ONLY = "champion only"
TWO_MODELS = "experiment running: champion + challenger"
STOPPED = "after the experiment stopped"
OPS_REQUEST = "after one staff request that reads MLflow"
# Shared libraries that show MLflow's client (pandas, pyarrow), scipy.stats or SQLAlchemy loaded in a process.
HEAVY_LIBRARIES = ("pandas", "pyarrow", "scipy", "sqlalchemy", "plotly")


@dataclass
class ABMemory:
    """RSS readings (bytes) of the one gunicorn worker per phase, the heavy libraries mapped at the end of each phase,
    and the (arm, version) pairs that answered during the experiment."""

    phases: dict[str, list[int]]
    libraries: dict[str, list[str]]
    arms: list[tuple[str, str]]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=40, help="uploads per phase (default 40)")
    parser.add_argument("--samples", type=int, default=8, help="RSS readings per phase, after equal rounds of its uploads (default 8)")
    return parser.parse_args()


def register_challenger(workdir: Path) -> None:
    """Version 2: the bundled weights with a nudged head (another sha256), registered through the stack's MLflow server."""
    from mlops.mlflow_store import registry
    from predictions.inference import bundled_weights_path, imagenet_manifest, load_state_dict

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


def the_worker(master: int) -> int:
    """The pid of gunicorn's one worker."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    if len(children) != 1:
        raise SystemExit(f"expected one gunicorn worker, found {len(children)}")
    return int(children[0])


def worker_rss(master: int) -> int:
    """The one gunicorn worker's resident set size in bytes, from /proc (Linux)."""
    return round(rss_mib(the_worker(master)) * MB)


def worker_libraries(master: int) -> list[str]:
    """Which of HEAVY_LIBRARIES have a shared library mapped into the worker."""
    maps = Path(f"/proc/{the_worker(master)}/maps").read_text()
    return [name for name in HEAVY_LIBRARIES if f"/site-packages/{name}/" in maps or f"/site-packages/{name}.libs/" in maps]


def phase_rss(base: str, data: bytes, master: int, *, uploads: int, samples: int) -> list[int]:
    """RSS after each of ``samples`` rounds of uploads: one reading is noisy (the allocator keeps and returns pages)."""
    readings = []
    for _ in range(samples):
        upload(base, data, max(1, uploads // samples))
        readings.append(worker_rss(master))
    return readings


def upload(base: str, data: bytes, count: int) -> None:
    import requests

    for _ in range(count):
        response = requests.post(f"{base}/api/v1/predict", files={"image": ("meal.jpg", data, "image/jpeg")}, timeout=60)
        response.raise_for_status()


def measure(*, uploads: int, samples: int) -> ABMemory:
    """One production gunicorn worker serving from the MLflow server: its RSS after start-up, with the champion alone,
    during an A/B experiment (both models loaded), after it stopped and after a staff request that reads MLflow.
    Sets this process's environment to the stack's (its database, its MLflow server)."""
    import requests

    sys.path.insert(0, str(ROOT))
    from tests.support.stack import ProductionStack

    with tempfile.TemporaryDirectory(prefix="ab-memory-") as folder:
        workdir = Path(folder)
        (workdir / "stack").mkdir()
        stack = ProductionStack(
            workdir / "stack", gunicorn_workers=1, celery_workers=1,
            extra_env={"NUTRILEARN_PREDICT_RATE": "10000/minute", "LOG_LEVEL": "WARNING", "GUNICORN_TIMEOUT": "300"},
        )  # fmt: skip
        try:
            stack.start()  # /readyz has loaded the champion
            os.environ.update(stack.env)
            import django

            django.setup()
            master = stack.processes[0].popen.pid
            phases, libraries = {STARTED: [worker_rss(master)]}, {STARTED: worker_libraries(master)}
            register_challenger(workdir)
            data = photo()
            phases[CHAMPION_ONLY] = phase_rss(stack.url, data, master, uploads=uploads, samples=samples)
            libraries[CHAMPION_ONLY] = worker_libraries(master)

            from mlops.experiments.services import experiment_create, experiment_start, experiment_stop
            from predictions.models import Prediction

            experiment = experiment_create(champion_version="1", challenger_version="2", challenger_share=0.5)
            experiment_start(experiment_id=experiment.pk)
            phases[TWO_MODELS] = phase_rss(stack.url, data, master, uploads=uploads, samples=samples)
            libraries[TWO_MODELS] = worker_libraries(master)
            arms = sorted(set(Prediction.objects.filter(ab_experiment=experiment).values_list("ab_arm", "model_version")))
            experiment_stop(experiment_id=experiment.pk)
            phases[STOPPED] = phase_rss(stack.url, data, master, uploads=uploads, samples=samples)
            libraries[STOPPED] = worker_libraries(master)

            token = stack.staff_token()
            response = requests.get(f"{stack.url}/api/v1/mlops/experiments", headers={"Authorization": f"Token {token}"}, timeout=120)
            response.raise_for_status()
            phases[OPS_REQUEST] = [worker_rss(master)]
            libraries[OPS_REQUEST] = worker_libraries(master)
        finally:
            stack.stop()
    return ABMemory(phases=phases, libraries=libraries, arms=arms)


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
            f"{(middle - baseline) / MB:+6.1f} MB against the champion alone); mapped: {', '.join(result.libraries[label]) or 'none'}"
        )


def bundled_weights_size() -> int:
    from predictions.inference import bundled_weights_path

    return bundled_weights_path().stat().st_size


if __name__ == "__main__":
    main()
