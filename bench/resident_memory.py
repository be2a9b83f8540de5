"""Resident memory (RSS) of one process in two shapes, each measured in a fresh interpreter:

- ``bare``: ``import torch`` and one EfficientNet-Lite0 with the bundled weights, one forward pass;
- ``web``: a web worker, i.e. Django's WSGI application with the URLconf loaded, the served model loaded, one upload
  answered through the test client.

    .venv/bin/python -m bench.resident_memory bare|web    # prints the RSS in MiB
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


def web_worker() -> float:
    from bench.django_setup import configure_django
    from bench.predict_latency import build_jpegs, post_photo

    with tempfile.TemporaryDirectory(prefix="nutrilearn-bench-memory-") as tmp:
        configure_django(Path(tmp))
        from django.test import Client

        import nutrilearn.wsgi  # noqa: F401 - what a gunicorn worker imports: the application and every view module
        from predictions.services import food_catalogue_load

        food_catalogue_load()
        post_photo(Client(), build_jpegs()["1024x768"])
        return rss_mib()


SHAPES = {"bare": bare_model, "web": web_worker}


def measure(shape: str) -> float:
    """RSS in MiB of a fresh interpreter brought into ``shape``."""
    command = [sys.executable, "-m", "bench.resident_memory", shape]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    return float(completed.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(f"{SHAPES[sys.argv[1]]():.1f}")
