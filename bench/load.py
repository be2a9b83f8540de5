"""Sustained upload load against the production stack, then with Redis stopped, then with the MLflow server stopped.

    python bench/load.py [--seconds 120] [--users 8] [--rate 2]

Starts the production stack on loopback (tests/support/stack.py: gunicorn with 2 workers, 2 Celery
workers, beat, Redis, an mlflow server on PostgreSQL, the app on a PostgreSQL database made for the
run), drives it with Locust (headless, `requirements-bench.txt`) for each phase, brings each stopped
dependency back, waits for mirroring, and checks that nothing was lost: every 2xx has its Prediction
row and every prediction reached MLflow exactly once (accepted = rows = points in MLflow).
All traffic stays on 127.0.0.1; every phase ends by itself.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.stack import ProductionStack  # noqa: E402

LOCUST = Path(sys.executable).parent / "locust"
COUNT_ROWS = "from predictions.models import Prediction; print(Prediction.objects.filter(status='ok').count())"


def meal_photo(path: Path) -> Path:
    import skimage
    from PIL import Image

    image = Image.open(Path(skimage.__file__).parent / "data" / "coffee.png").convert("RGB").resize((1024, 768))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    path.write_bytes(buffer.getvalue())
    return path


def run_phase(stack: ProductionStack, name: str, *, seconds: int, users: int, rate: float, photo: Path, workdir: Path) -> dict:
    record = workdir / f"{name}.ids"
    record.touch()
    prefix = workdir / name
    env = {**os.environ, "LOAD_PHOTO": str(photo), "LOAD_RECORD": str(record), "LOAD_RATE_PER_USER": str(rate)}
    command = [
        str(LOCUST), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{seconds}s", "--host", stack.url, "--csv", str(prefix), "--only-summary", "--stop-timeout", "10",
        "--exit-code-on-error", "0",
    ]
    subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, timeout=seconds + 120)
    with open(f"{prefix}_stats.csv") as stats:
        total = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    requests_made = int(total["Request Count"])
    failures = int(total["Failure Count"])
    accepted = [int(line) for line in record.read_text().split()]
    return {
        "phase": name,
        "requests": requests_made,
        "accepted": len(accepted),
        "throughput_per_s": round(float(total["Requests/s"]), 2),
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "p99_ms": float(total["99%"]),
        "error_rate_percent": round(100 * failures / max(1, requests_made), 2),
        "ids": accepted,
    }


def mlflow_steps(stack: ProductionStack) -> list[int]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=stack.mlflow.url)
    experiment = client.get_experiment_by_name("nutrilearn-food-recognition")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.run_type = 'serving'")
    return sorted(metric.step for run in runs for metric in client.get_metric_history(run.info.run_id, "processing_time_seconds"))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=120, help="length of each phase (%(default)s)")
    parser.add_argument("--users", type=int, default=8, help="concurrent Locust users (%(default)s)")
    parser.add_argument("--rate", type=float, default=2.0, help="uploads per second per user at most (%(default)s)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="nutrilearn-load-") as folder:
        workdir = Path(folder)
        photo = meal_photo(workdir / "meal.jpg")
        stack = ProductionStack(workdir / "stack", extra_env={"NUTRILEARN_PREDICT_RATE": "1000000/minute", "LOG_LEVEL": "WARNING"})
        (workdir / "stack").mkdir()
        stack.start()
        try:
            phases = [run_phase(stack, "normal", seconds=args.seconds, users=args.users, rate=args.rate, photo=photo, workdir=workdir)]
            stack.redis.stop()
            phases.append(run_phase(stack, "redis-down", seconds=args.seconds, users=args.users, rate=args.rate, photo=photo,
                                    workdir=workdir))
            stack.redis.start()
            stack.mlflow.stop()
            phases.append(run_phase(stack, "mlflow-down", seconds=args.seconds, users=args.users, rate=args.rate, photo=photo,
                                    workdir=workdir))
            stack.mlflow.start(timeout=180)
            accepted = sorted(pid for phase in phases for pid in phase.pop("ids"))
            started = time.monotonic()
            while mlflow_steps(stack) != accepted and time.monotonic() - started < 600:
                time.sleep(5)
            steps = mlflow_steps(stack)
            rows = int(stack.manage("shell", "-c", COUNT_ROWS).strip().splitlines()[-1])
        finally:
            stack.stop()

    result = {
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "phases": phases,
        "accepted": len(accepted),
        "rows": rows,
        "points_in_mlflow": len(steps),
        "each_accepted_prediction_once_in_mlflow": steps == accepted,
        "mirrored_within_seconds_after_recovery": round(time.monotonic() - started, 1),
    }
    print(f"{'phase':<12} {'requests':>9} {'accepted':>9} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors %':>9}")
    for phase in phases:
        print(f"{phase['phase']:<12} {phase['requests']:>9} {phase['accepted']:>9} {phase['throughput_per_s']:>7} {phase['p50_ms']:>8.0f} "
              f"{phase['p95_ms']:>8.0f} {phase['p99_ms']:>8.0f} {phase['error_rate_percent']:>9}")
    print(f"accepted {result['accepted']} = rows {rows} = points in MLflow {len(steps)}: "
          f"{result['accepted'] == rows == len(steps) and result['each_accepted_prediction_once_in_mlflow']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
