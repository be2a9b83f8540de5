"""The benchmark peers' own virtual environment, ``.venv-bench/``, built from ``requirements-bench-peers.txt``.

Peers whose requirements clash with the app's (Evidently needs plotly < 6, the app pins 7) run there as scripts that
read a file the app's process wrote. Building takes minutes, so only full runs (or ``--peers``) do it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements-bench-peers.txt"
VENV = ROOT / ".venv-bench"
# A copy of the requirements the environment was built from, written last: a half-built or stale environment has none
# or a different one, and counts as absent.
BUILT_FROM = VENV / "built-from-requirements-bench-peers.txt"
EVIDENTLY_SCRIPT = ROOT / "bench" / "evidently_peer.py"
PEER_TIMEOUT_SECONDS = 900
HOW_TO_BUILD = "build .venv-bench with `python -m bench --peers --only monitoring_sqlite`, or any full run of a monitoring family"


class PeerFailed(RuntimeError):
    """A peer script exited with an error or printed no result."""


@dataclass(frozen=True)
class PeerTiming:
    """A peer's figure: the app-side read of the same rows plus the peer's own compute (the file hand-off not counted)."""

    read_seconds: float
    compute_seconds: float
    version: str

    @property
    def seconds(self) -> float:
        return self.read_seconds + self.compute_seconds


def peer_python(venv: Path = VENV, requirements: Path = REQUIREMENTS) -> Path | None:
    """The peer environment's interpreter when it was built from the current requirements, else None."""
    python = venv / "bin" / "python"
    built_from = venv / BUILT_FROM.name
    if not (python.exists() and built_from.exists() and requirements.exists()):
        return None
    return python if built_from.read_text() == requirements.read_text() else None


def peer_env_build(venv: Path = VENV, requirements: Path = REQUIREMENTS) -> Path:
    """(Re)build the peer environment from ``requirements`` with this interpreter's ``venv`` and pip; its interpreter."""
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)], check=True)
    (venv / BUILT_FROM.name).write_text(requirements.read_text())
    return python


def peer_run(python: Path, script: Path, folder: Path) -> dict:
    """Run a peer script on the hand-off ``folder`` and return the JSON it printed last."""
    completed = subprocess.run(
        [str(python), str(script), str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=PEER_TIMEOUT_SECONDS, check=False
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        raise PeerFailed(f"{script.name} exited with {completed.returncode}: {completed.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])
