"""Resident memory (RSS) of a process, and the memory family's baseline measured in a fresh interpreter:
``import torch`` and one EfficientNet-Lite0 with the bundled weights as served, one forward pass.

    .venv/bin/python -m bench.resident_memory bare            # prints the RSS in MiB

The web worker it is compared with is a production gunicorn worker (``bench/ab_memory.py``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mib(pid: int | str = "self") -> float:
    """The resident set size of process ``pid`` (default: this one) from /proc (Linux), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS line in /proc/{pid}/status: resident memory is measured on Linux only")


def bare_model() -> float:
    """``import torch``, the bundled EfficientNet-Lite0 as it is served (batch norm folded, ``FoodClassifier``), one forward pass."""
    import torch

    from predictions.inference import FoodClassifier, bundled_network, imagenet_manifest

    classifier = FoodClassifier(bundled_network(), imagenet_manifest(""))
    classifier.forward(torch.randn(1, 3, 224, 224))
    return rss_mib()


def measure(shape: str) -> float:
    """RSS in MiB of a fresh interpreter brought into ``shape`` (``bare``)."""
    if shape != "bare":
        raise ValueError(f"unknown shape {shape!r}: the web worker is measured by bench/ab_memory.py")
    return float(run_module("bare").splitlines()[-1])


def run_module(*args: str) -> str:
    command = [sys.executable, "-m", "bench.resident_memory", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout.strip()


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["bare"]:
            print(f"{bare_model():.1f}")
        case _:
            raise SystemExit(__doc__)
