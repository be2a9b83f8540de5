"""Gunicorn settings for the production web process: ``gunicorn -c gunicorn.conf.py nutrilearn.wsgi`` (``bin/web`` runs it).

From the environment: GUNICORN_BIND (default 127.0.0.1:$WEB_PORT, 8000), GUNICORN_WORKERS (2),
GUNICORN_THREADS (1), GUNICORN_TIMEOUT (60 s), GUNICORN_GRACEFUL_TIMEOUT (30 s). Each worker
process loads the model and runs NUTRILEARN_TORCH_THREADS inference threads: keep
workers x NUTRILEARN_TORCH_THREADS at most the cores the web machine gives it.
"""

import os
from pathlib import Path


def _positive_int(name: str, default: int) -> int:
    value = os.environ.get(name) or str(default)
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {value!r}") from None
    if number < 1:
        raise SystemExit(f"{name} must be at least 1, got {number}")
    return number


bind = os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('WEB_PORT') or 8000}"
workers = _positive_int("GUNICORN_WORKERS", 2)
threads = _positive_int("GUNICORN_THREADS", 1)
timeout = _positive_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _positive_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = 5
accesslog = "-"
errorlog = "-"
# Gunicorn's control socket defaults to one path per user (~/.gunicorn): two instances on a machine would share it.
control_socket_disable = True
# Each worker imports the app after the fork, so PyTorch and the model are loaded in the worker
# (lazily, on first use), never in a parent whose threads and memory the fork would copy.
preload_app = False

# Prometheus: with several workers, every worker writes its samples to files in one folder and
# /metrics merges them. prometheus-client reads the variable when a worker imports it, after the
# fork, so setting it here (in the master) reaches every worker.
if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    var_dir = Path(os.environ.get("NUTRILEARN_VAR_DIR") or Path(__file__).resolve().parent / "var")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(var_dir / "prometheus")


def on_starting(server):
    """Start from an empty Prometheus folder: samples of an earlier run's workers would be counted again."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    """A worker ended: drop its live gauges from the merged Prometheus samples."""
    from mlops.prometheus import mark_process_dead

    mark_process_dead(worker.pid)
