"""Time every monitoring endpoint and MLOps page over a million predictions, and the baseline: a Python loop over 1,000 MLflow runs.

Fills a database with ``--rows`` predictions spread over ``--days`` days (bulk
insert: executemany on SQLite, COPY on PostgreSQL) with realistic distributions:
a daily meal-time traffic cycle growing over the period, Zipf-like food shares that
shift in the last weeks, Beta-distributed confidences per model version (version 1,
then version 2 with a challenger share), log-normal latencies, 2 % rejected uploads
and 0.3 % server failures, 3 % "no food", feedback on 5 % of the predictions (right
with a probability that follows the confidence), signed-in users and anonymous
sessions, and a small unmirrored backlog. Embeddings and photos are left empty.

The monitoring rollups are then refreshed as the periodic task does (timed: the first
refresh over all rows, then an incremental one), every /api/v1/mlops/ endpoint is requested through Django's test client as a
staff user (``--repeats`` timed requests after one warm-up) and its median and p95
reported, and so is every MLOps page under /mlops/ (with the time of the first, cold
request); the drift report over all rows is computed and timed on its own. Finally
the baseline (the student project's approach) is timed on the same machine: 1,000 MLflow
runs (one per prediction) searched and looped over in Python to
build the same overview.

    .venv/bin/python -m bench.monitoring_at_scale [--rows 1000000] [--database-url URL] [--reuse]

``--database-url`` defaults to a SQLite file in a temporary folder; for PostgreSQL
give a database of your own (``postgres://postgres@127.0.0.1:5432/nutrilearn_bench``),
which is emptied first. ``--reuse`` keeps an already filled database of the same size.
The MLflow store is always a throwaway SQLite store.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

if not __package__:  # run as a file (python bench/monitoring_at_scale.py): the project root is not on the path yet
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.django_setup import configure_django  # noqa: E402
from bench.monitoring_data import fill  # noqa: E402
from mlops.percentiles import percentile  # noqa: E402

TARGET_P95_SECONDS = 0.250
TARGET_PAGE_SECONDS = 0.500
TARGET_DRIFT_SECONDS = 2.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="predictions to insert (default 1,000,000)")
    parser.add_argument("--days", type=int, default=90, help="days the predictions span (default 90)")
    parser.add_argument("--database-url", default=None, help="database to fill (default: SQLite in a temporary folder)")
    parser.add_argument("--workdir", default=None, help="folder for the SQLite file and MLflow store (default: temporary)")
    parser.add_argument("--repeats", type=int, default=20, help="timed requests per endpoint (default 20)")
    parser.add_argument("--seed-runs", type=int, default=1000, help="MLflow runs for the baseline loop (default 1000)")
    parser.add_argument("--reuse", action="store_true", help="keep the predictions if the database already holds --rows of them")
    return parser.parse_args()


# --- timing ---------------------------------------------------------------------------------------


def staff_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    return client


MIN_REPEATS = 3


def time_request(client, method: str, path: str, params: dict, repeats: int, *, budget_seconds: float | None = None) -> dict:
    """Median, p95 and the timings of ``repeats`` requests after a first one (reported as "first": caches and connections are
    cold); with ``budget_seconds``, a slow case stops repeating once the budget is spent (after at least ``MIN_REPEATS``)."""
    timings, first = [], None
    deadline = time.perf_counter() + budget_seconds if budget_seconds else None
    for attempt in range(repeats + 1):
        if deadline and len(timings) >= MIN_REPEATS and time.perf_counter() > deadline:
            break
        started = time.perf_counter()
        if method == "GET":
            response = client.get(path, params)
        else:
            response = client.post(path, params, content_type="application/json")
        elapsed = time.perf_counter() - started
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path} {params}: {response.status_code} {response.content[:500]!r}")
        if attempt:  # the first request warms caches and connections
            timings.append(elapsed)
        else:
            first = elapsed
    return {"median": statistics.median(timings), "p95": percentile(timings, 0.95), "first": first, "timings": timings}


def endpoint_cases(now: datetime) -> list[tuple[str, str, str, dict]]:
    api = "/api/v1/mlops/"
    week = {"start": (now - timedelta(days=7)).isoformat()}
    register = {"model_version": "1", "accuracy": 0.8, "precision": 0.79, "recall": 0.78, "f1_score": 0.785, "sample_count": 500}
    return [
        ("experiments", "GET", api + "experiments", {}),
        ("runs (prediction, 50)", "GET", api + "runs", {"run_type": "prediction", "limit": 50}),
        ("runs (evaluation)", "GET", api + "runs", {"run_type": "evaluation"}),
        ("metrics (all rows)", "GET", api + "metrics", {}),
        ("model-versions", "GET", api + "model-versions", {}),
        ("register-model (POST)", "POST", api + "register-model", register),
        ("monitoring/predictions (all rows)", "GET", api + "monitoring/predictions", {}),
        ("monitoring/predictions (last 7 days)", "GET", api + "monitoring/predictions", week),
        ("monitoring/confidence (all rows)", "GET", api + "monitoring/confidence", {"bins": 10}),
        ("monitoring/performance (all rows)", "GET", api + "monitoring/performance", {}),
        ("monitoring/drift (stored report)", "GET", api + "monitoring/drift", {"window_days": 7}),
        ("monitoring/health (last hour)", "GET", api + "monitoring/health", {}),
        ("monitoring/health (all 90 days)", "GET", api + "monitoring/health", {"window_minutes": 90 * 24 * 60}),
        ("metrics/history (confidence, 100)", "GET", api + "metrics/history", {"metric_name": "confidence"}),
        ("metrics (model_version=2)", "GET", api + "metrics", {"model_version": "2"}),
    ]


def page_cases(now: datetime) -> list[tuple[str, str, dict]]:
    """The MLOps pages as an ops engineer opens them: default windows, a long window, deep and filtered table pages."""
    from predictions.models import Food, Prediction

    week = Prediction.objects.filter(created_at__gte=now - timedelta(days=7)).order_by("-created_at", "-id")
    # The 101st page of 50 at a million rows; halfway down the week on a small table.
    deep = week.values_list("id", flat=True)[min(5_000, week.count() // 2)]
    newest = week.values_list("id", flat=True)[0]
    food = Food.objects.order_by("pk").values_list("key", flat=True)[5]
    return [
        ("overview (last 7 days)", "/mlops/", {}),
        ("overview (last 90 days)", "/mlops/", {"days": 90}),
        ("overview (version 2, 30 days)", "/mlops/", {"days": 30, "model_version": "2"}),
        ("predictions (first page)", "/mlops/predictions/", {}),
        ("predictions (101st page, keyset)", "/mlops/predictions/", {"after": deep}),
        ("predictions (food + low band, 90 days)", "/mlops/predictions/", {"days": 90, "food": food, "band": "low"}),
        ("predictions (corrected feedback, 90 days)", "/mlops/predictions/", {"days": 90, "feedback": "corrected"}),
        ("prediction detail", f"/mlops/predictions/{newest}/", {}),
        ("drift (latest scheduled report)", "/mlops/drift/", {}),
        ("models", "/mlops/models/", {}),
        ("alerts", "/mlops/alerts/", {}),
        ("jobs", "/mlops/jobs/", {}),
    ]


def time_drift_report(days: int) -> float:
    from django.utils import timezone

    from mlops.drift_reports import drift_report_compute

    now = timezone.now()
    started = time.perf_counter()
    # Scheduled, as the periodic task stores it: the Drift and Overview pages show the latest scheduled report.
    report = drift_report_compute(
        baseline_start=now - timedelta(days=days + 1), baseline_end=now - timedelta(days=7), recent_start=now - timedelta(days=7),
        recent_end=now, scheduled=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    print(f"drift report over all rows: verdict {report.verdict}, score {report.drift_score:.3f}, "
          f"{report.results['baseline_predictions']:,} + {report.results['recent_predictions']:,} predictions")  # fmt: skip
    return elapsed


# --- the baseline: a loop over MLflow runs ------------------------------------------------------------------------------


def seed_runs_create(count: int) -> str:
    """One MLflow run per prediction, as the baseline logs them (params food_name, user_id; metrics confidence, latency)."""
    from mlflow.entities import Metric, Param

    from mlops.mlflow_store import get_client

    client = get_client()
    experiment = client.create_experiment(f"seed-approach-{int(time.time())}")
    rng = np.random.default_rng(1)
    now = int(time.time() * 1000)
    for i in range(count):
        run = client.create_run(experiment, start_time=now - i * 1000, tags={"run_type": "prediction"})
        client.log_batch(
            run.info.run_id,
            metrics=[
                Metric("confidence", float(rng.beta(5, 2)), now, 0),
                Metric("processing_time_seconds", float(rng.lognormal(-2, 0.4)), now, 0),
            ],
            params=[Param("food_name", f"food {int(rng.zipf(1.5)) % 40}"), Param("user_id", f"user {int(rng.integers(0, 300))}")],
        )  # fmt: skip
        client.set_terminated(run.info.run_id)
    return experiment


def seed_overview(experiment: str, count: int) -> dict:
    """The baseline /metrics: search the last ``count`` runs and loop over them in Python."""
    from mlops.mlflow_store import get_client

    runs = get_client().search_runs([experiment], max_results=count, order_by=["attributes.start_time DESC"])
    confidences, foods, users, days = [], {}, set(), {}
    for run in runs:
        confidence = run.data.metrics.get("confidence")
        if confidence is not None:
            confidences.append(confidence)
        food = run.data.params.get("food_name")
        foods[food] = foods.get(food, 0) + 1
        users.add(run.data.params.get("user_id"))
        day = datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC).date().isoformat()
        days[day] = days.get(day, 0) + 1
    return {
        "total_predictions": len(runs),
        "avg_confidence": sum(confidences) / len(confidences) if confidences else 0,
        "unique_foods": len(foods),
        "unique_users": len(users),
        "top_foods": sorted(foods.items(), key=lambda item: -item[1])[:10],
        "by_day": days,
    }


@dataclass
class ScaleRun:
    """One database size: fill and rollup seconds, the drift report's seconds, and (name, timing) per endpoint and page."""

    rows: int
    vendor: str
    fill_seconds: float
    rollup_seconds: float
    incremental_seconds: float
    drift_seconds: float
    endpoints: list[tuple[str, dict]] = field(default_factory=list)
    pages: list[tuple[str, dict]] = field(default_factory=list)


def measure_scale(*, rows: int, days: int, repeats: int, reuse: bool = False, budget_seconds: float | None = None) -> ScaleRun:
    """Fill the configured database with ``rows`` predictions, refresh the rollups, time the drift report, every endpoint, every
    page (each case for at most ``budget_seconds`` once it has a few repeats)."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from mlops.rollups import rollups_refresh_job

    # register-model records an evaluation of a version the registry knows: the bundled model is version 1 (idempotent).
    call_command("register_bundled_model", verbosity=0)
    fill_seconds = fill(rows=rows, days=days, reuse=reuse)
    if fill_seconds:
        print(f"filled {rows:,} predictions in {fill_seconds:.1f} s ({rows / fill_seconds:,.0f} rows/s)")
    started = time.perf_counter()
    rollups_refresh_job()
    rollup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rollups_refresh_job()
    incremental_seconds = time.perf_counter() - started
    print(f"rollups: first refresh {rollup_seconds:.1f} s, next refresh {incremental_seconds:.2f} s")
    run = ScaleRun(rows=rows, vendor=connection.vendor, fill_seconds=fill_seconds, rollup_seconds=rollup_seconds,
                   incremental_seconds=incremental_seconds, drift_seconds=time_drift_report(days))  # fmt: skip
    # Filling the table and the drift report leave millions of objects behind in this process; a web worker would not
    # hold them. Collected here, so that no timed request pays for a full collection of the set-up's leftovers.
    started = time.perf_counter()
    gc.collect()
    print(f"garbage collection of the set-up's leftovers: {time.perf_counter() - started:.2f} s")
    client = staff_client()
    for name, method, path, params in endpoint_cases(timezone.now()):
        count = max(MIN_REPEATS, repeats // 4) if method == "POST" else repeats
        written_after = timezone.now()
        timing = time_request(client, method, path, params, count, budget_seconds=budget_seconds)
        if method == "POST":
            evaluations_forget(since=written_after)
        run.endpoints.append((name, timing))
        print(f"  {name:<40} median {timing['median'] * 1000:7.1f} ms   p95 {timing['p95'] * 1000:7.1f} ms", flush=True)
    print("\nMLOps pages (server time through the test client; first = cold caches):", flush=True)
    for name, path, params in page_cases(timezone.now()):
        timing = time_request(client, "GET", path, params, repeats, budget_seconds=budget_seconds)
        run.pages.append((name, timing))
        print(f"  {name:<40} first {timing['first'] * 1000:7.1f} ms   median {timing['median'] * 1000:7.1f} ms   "
              f"p95 {timing['p95'] * 1000:7.1f} ms", flush=True)  # fmt: skip
    return run


def evaluations_forget(*, since) -> None:
    """Delete the evaluations that register-model's repeats recorded (MLflow runs and rows), so that every table size
    meets the same MLflow store: otherwise ``runs (evaluation)`` would answer more runs at each size, whatever the rows."""
    from mlops.mlflow_store.client import get_client
    from mlops.mlflow_store.runs import runs_search
    from mlops.models import Evaluation

    for run in runs_search(run_type="evaluation", limit=1000, start=since):
        get_client().delete_run(run["run_id"])
    Evaluation.objects.filter(created_at__gte=since).delete()


def measure_seed_loop(*, seed_runs: int, repeats: int = 5) -> list[float]:
    """Seconds of each of ``repeats`` baseline overviews over ``seed_runs`` MLflow runs (created first, not timed)."""
    print(f"\ncreating {seed_runs} MLflow runs for the baseline loop ...", flush=True)
    experiment = seed_runs_create(seed_runs)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        overview = seed_overview(experiment, seed_runs)
        timings.append(time.perf_counter() - started)
    if overview["total_predictions"] != seed_runs:
        raise RuntimeError(f"the baseline loop saw {overview['total_predictions']} runs, not {seed_runs}")
    return timings


def main() -> int:
    args = parse_args()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="nutrilearn-monitoring-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    configure_django(workdir, database_url=args.database_url)
    from django.db import connection

    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), {os.cpu_count()} cores")
    run = measure_scale(rows=args.rows, days=args.days, repeats=args.repeats, reuse=args.reuse)
    results, pages, drift_seconds = run.endpoints, run.pages, run.drift_seconds
    rollup_seconds, incremental_seconds = run.rollup_seconds, run.incremental_seconds
    seed_median = statistics.median(measure_seed_loop(seed_runs=args.seed_runs))

    ours = dict(results)["metrics (all rows)"]["median"]
    buffer = io.StringIO()
    buffer.write(f"\n| endpoint ({connection.vendor}, {args.rows:,} predictions) | median ms | p95 ms | p95 <= 250 ms |\n")
    buffer.write("|---|---:|---:|---|\n")
    for name, timing in results:
        verdict = "yes" if timing["p95"] <= TARGET_P95_SECONDS else "NO"
        buffer.write(f"| {name} | {timing['median'] * 1000:.1f} | {timing['p95'] * 1000:.1f} | {verdict} |\n")
    buffer.write(f"\n| page ({connection.vendor}, {args.rows:,} predictions) | first ms | median ms | p95 ms | p95 <= 500 ms |\n")
    buffer.write("|---|---:|---:|---:|---|\n")
    for name, timing in pages:
        verdict = "yes" if timing["p95"] <= TARGET_PAGE_SECONDS else "NO"
        figures = " | ".join(f"{timing[key] * 1000:.1f}" for key in ("first", "median", "p95"))
        buffer.write(f"| {name} | {figures} | {verdict} |\n")
    drift_verdict = "yes" if drift_seconds <= TARGET_DRIFT_SECONDS else "NO"
    buffer.write(f"| drift report over all rows (compute, store, MLflow run) | {drift_seconds * 1000:.0f} | | <= 2 s: {drift_verdict} |\n")
    refresh = f"{rollup_seconds * 1000:.0f} / {incremental_seconds * 1000:.0f}"
    buffer.write(f"| rollup refresh (periodic task): first over all rows / next | {refresh} | | |\n")
    buffer.write(f"| baseline: search + Python loop over {args.seed_runs} MLflow runs | {seed_median * 1000:.1f} | | |\n")
    buffer.write(
        f"\nmetrics over {args.rows:,} rows from SQL: {ours * 1000:.1f} ms; the baseline loop over {args.seed_runs} runs: "
        f"{seed_median * 1000:.1f} ms ({seed_median / ours:.1f}x slower, on {args.rows / args.seed_runs:,.0f}x fewer predictions).\n"
    )
    print(buffer.getvalue())
    print(json.dumps({"rows": args.rows, "vendor": connection.vendor, "workdir": str(workdir)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
