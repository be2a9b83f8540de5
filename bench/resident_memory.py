"""Resident memory (RSS) of one process in two shapes, each measured in a fresh interpreter:

- ``bare``: ``import torch`` and one EfficientNet-Lite0 with the bundled weights, one forward pass;
- ``web``: a web worker, i.e. Django's WSGI application with the URLconf loaded, the served model loaded, one upload
  answered through the test client. As in production, the worker does not migrate and does not make the photo: a
  process before it (``prepare``) migrates the throwaway folder, loads the catalogue and writes the 1024x768 JPEG.

    .venv/bin/python -m bench.resident_memory bare            # prints the RSS in MiB
    .venv/bin/python -m bench.resident_memory prepare FOLDER
    .venv/bin/python -m bench.resident_memory web FOLDER      # prints the RSS in MiB
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mib() -> float:
    """This process's resident set size from /proc (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line in /proc/self/status: resident memory is measured on Linux only")


def bare_model() -> float:
    import torch

    from predictions.inference import build_efficientnet_lite0, bundled_weights_path, load_state_dict

    network = build_efficientnet_lite0(1000)
    network.load_state_dict(load_state_dict(bundled_weights_path(), expected_sha256=None))
    network.eval()
    with torch.inference_mode():
        network(torch.randn(1, 3, 224, 224))
    return rss_mib()


PHOTO = "meal-1024x768.jpg"


def prepare(folder: Path) -> None:
    """What a deployment does before its web workers start: migrate, load the food catalogue; and the upload's photo."""
    from bench.django_setup import configure_django
    from bench.predict_latency import build_jpegs

    configure_django(folder)
    from predictions.services import food_catalogue_load

    food_catalogue_load()
    (folder / PHOTO).write_bytes(build_jpegs()["1024x768"])


def web_worker(folder: Path) -> float:
    from bench.django_setup import configure_django
    from bench.predict_latency import post_photo

    configure_django(folder, migrate=False)
    from django.test import Client

    import nutrilearn.wsgi  # noqa: F401 - what a gunicorn worker imports: the application and every view module

    post_photo(Client(), (folder / PHOTO).read_bytes())
    return rss_mib()


def measure(shape: str) -> float:
    """RSS in MiB of a fresh interpreter brought into ``shape`` (``web``: on a folder prepared by another process)."""
    if shape == "bare":
        return float(run_module("bare").splitlines()[-1])
    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-memory-") as tmp:
        run_module("prepare", tmp)
        return float(run_module("web", tmp).splitlines()[-1])


def run_module(*args: str) -> str:
    command = [sys.executable, "-m", "bench.resident_memory", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout.strip()


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["bare"]:
            print(f"{bare_model():.1f}")
        case ["prepare", folder]:
            prepare(Path(folder))
        case ["web", folder]:
            print(f"{web_worker(Path(folder)):.1f}")
        case _:
            raise SystemExit(__doc__)
