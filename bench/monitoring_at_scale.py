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

    .venv/bin/python bench/monitoring_at_scale.py [--rows 1000000] [--database-url URL] [--reuse]

``--database-url`` defaults to a SQLite file in a temporary folder; for PostgreSQL
give a database of your own (``postgres://postgres@127.0.0.1:5432/nutrilearn_bench``),
which is emptied first. ``--reuse`` keeps an already filled database of the same size.
The MLflow store is always a throwaway SQLite store.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from django_setup import configure_django

TARGET_P95_SECONDS = 0.250
TARGET_PAGE_SECONDS = 0.500
TARGET_DRIFT_SECONDS = 2.0
CHUNK = 100_000


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


# --- filling ------------------------------------------------------------------------------------


def generated_columns(rng: np.random.Generator, *, count: int, days: int, end: datetime, food_ids: list[int], user_ids: list[int]):
    """Column arrays of ``count`` predictions, sorted by creation time."""
    # Creation times: growth over the period (density rising linearly to 2x) and meal-time peaks.
    position = np.sqrt(rng.uniform(1, 4, count)) - 1  # in [0, 1], density growing with position
    day = np.floor(position * days)
    hour_of_day = np.concatenate(
        [rng.normal(8, 1.2, count // 4), rng.normal(12.8, 1.3, count // 3), rng.normal(19.3, 1.6, count - count // 4 - count // 3)]
    )
    rng.shuffle(hour_of_day)
    seconds = day * 86_400 + np.clip(hour_of_day, 0, 23.999) * 3_600
    start = end - timedelta(days=days)
    created = np.sort(seconds)
    age_days = days - created / 86_400

    status = np.where(rng.uniform(0, 1, count) < 0.02, "rejected", "ok").astype(object)
    status[rng.uniform(0, 1, count) < 0.003] = "failed"
    ok = status == "ok"
    status_code = np.where(status == "ok", 200, np.where(status == "rejected", rng.choice([400, 413, 415], count), 500))

    # Food shares: Zipf-like, with the ranking rotated in the last 14 days (drift to detect).
    ranks = np.arange(1, len(food_ids) + 1)
    shares = 1 / ranks**1.1
    shares /= shares.sum()
    food_index = rng.choice(len(food_ids), count, p=shares)
    recent = age_days < 14
    food_index[recent] = (food_index[recent] + 3) % len(food_ids)
    foods = np.asarray(food_ids)[food_index]
    no_food = ok & (rng.uniform(0, 1, count) < 0.03)

    version = np.where(age_days > 30, "1", "2").astype(object)
    version[(age_days <= 30) & (rng.uniform(0, 1, count) < 0.1)] = "3"
    confidence = np.where(version == "1", rng.beta(5, 2, count), rng.beta(6, 1.6, count))
    latency = np.exp(rng.normal(np.log(0.15), 0.45, count))
    latency[status == "rejected"] = np.exp(rng.normal(np.log(0.01), 0.5, (status == "rejected").sum()))

    signed_in = rng.uniform(0, 1, count) < 0.7
    user_rank = np.minimum(rng.zipf(1.3, count), len(user_ids)) - 1
    users = np.asarray(user_ids)[user_rank]
    sessions = rng.integers(0, 20_000, count)

    feedback = ok & ~no_food & (rng.uniform(0, 1, count) < 0.05)
    correct = rng.uniform(0, 1, count) < confidence * 0.95
    wrong_food = np.asarray(food_ids)[rng.integers(0, len(food_ids), count)]
    mirrored = age_days > 0.05

    return {
        "created": [start + timedelta(seconds=float(value)) for value in created],
        "status": status,
        "status_code": status_code,
        "ok": ok,
        "food": foods,
        "no_food": no_food,
        "confidence": confidence,
        "latency": latency,
        "version": version,
        "signed_in": signed_in,
        "user": users,
        "session": sessions,
        "feedback": feedback,
        "correct": correct,
        "wrong_food": wrong_food,
        "mirrored": mirrored,
        "brightness": rng.normal(0.45 + 0.05 * recent, 0.12, count),
        "contrast": rng.normal(0.22, 0.05, count),
        "sharpness": np.abs(rng.normal(0.01, 0.004, count)),
        "width": rng.choice([640, 1024, 3024, 4032], count, p=[0.2, 0.3, 0.3, 0.2]),
        "height": rng.choice([480, 768, 3024, 3024], count, p=[0.2, 0.3, 0.3, 0.2]),
    }


COLUMNS = (
    "created_at", "status", "status_code", "reason_code", "reason", "source", "user_id", "session_key", "food_id", "confidence",
    "top_k", "no_food", "processing_time_seconds", "model_name", "model_version", "model_sha256", "ab_arm", "image", "image_format",
    "image_width", "image_height", "image_sha256", "brightness", "contrast", "sharpness", "quality_hints", "feedback_correct",
    "feedback_food_id", "feedback_text", "feedback_at", "mirrored_at", "mlflow_run_id", "mirror_attempts", "mirror_error",
)  # fmt: skip


def rows_of(columns: dict, index_range: range):
    for i in index_range:
        ok = bool(columns["ok"][i])
        no_food = bool(columns["no_food"][i])
        created = columns["created"][i]
        has_feedback = bool(columns["feedback"][i])
        correct = bool(columns["correct"][i])
        yield (
            created,
            columns["status"][i],
            int(columns["status_code"][i]),
            "" if ok else ("bad_image" if columns["status"][i] == "rejected" else "internal_error"),
            "",
            "api",
            int(columns["user"][i]) if columns["signed_in"][i] else None,
            "" if columns["signed_in"][i] else f"session{columns['session'][i]:05d}",
            int(columns["food"][i]) if ok and not no_food else None,
            float(columns["confidence"][i]) if ok and not no_food else None,
            "[]",
            ok and no_food,
            float(columns["latency"][i]),
            "food-classifier" if ok else "",
            columns["version"][i] if ok else "",
            "",
            "",
            "",
            "jpeg" if ok else "",
            int(columns["width"][i]) if ok else None,
            int(columns["height"][i]) if ok else None,
            "",
            float(columns["brightness"][i]) if ok else None,
            float(columns["contrast"][i]) if ok else None,
            float(columns["sharpness"][i]) if ok else None,
            "[]",
            correct if has_feedback else None,
            int(columns["wrong_food"][i]) if has_feedback and not correct else None,
            "",
            created + timedelta(minutes=5) if has_feedback else None,
            created + timedelta(seconds=20) if ok and columns["mirrored"][i] else None,
            "",
            1 if ok and columns["mirrored"][i] else 0,
            "",
        )


def bulk_insert(rows: list[tuple]) -> None:
    from django.db import connection

    table = "predictions_prediction"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            # SQLite keeps datetimes as naive UTC text, in Django's own format.
            adapt = connection.ops.adapt_datetimefield_value
            dates = [COLUMNS.index(name) for name in ("created_at", "feedback_at", "mirrored_at")]
            prepared = []
            for row in rows:
                row = list(row)
                for index in dates:
                    row[index] = adapt(row[index])
                prepared.append(row)
            placeholders = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({placeholders})", prepared)


def table_statistics_update() -> None:
    """What autovacuum does after a bulk load: planner statistics, and on PostgreSQL the visibility map for index-only scans."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE predictions_prediction" if connection.vendor == "postgresql" else "ANALYZE")


def fill(*, rows: int, days: int, reuse: bool) -> float:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from mlops.models import ConfidenceDay, DriftReport, Evaluation, PredictionDay, RollupState, UserTotal
    from predictions.models import Food, Prediction
    from predictions.services import food_catalogue_load

    if reuse and Prediction.objects.count() == rows:
        print(f"reusing {rows:,} predictions already in the database")
        table_statistics_update()
        return 0.0
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE predictions_prediction RESTART IDENTITY CASCADE")
        else:
            cursor.execute("DELETE FROM predictions_prediction")
        for model in (DriftReport, Evaluation, PredictionDay, ConfidenceDay, UserTotal, RollupState):
            model.objects.all().delete()
    food_catalogue_load()
    food_ids = list(Food.objects.order_by("pk").values_list("pk", flat=True))
    User = get_user_model()
    existing = set(User.objects.filter(username__startswith="bench-user-").values_list("username", flat=True))
    User.objects.bulk_create([User(username=f"bench-user-{i}") for i in range(2_000) if f"bench-user-{i}" not in existing])
    user_ids = list(User.objects.filter(username__startswith="bench-user-").order_by("pk").values_list("pk", flat=True))
    rng = np.random.default_rng(20_261_128)
    columns = generated_columns(rng, count=rows, days=days, end=datetime.now(UTC), food_ids=food_ids, user_ids=user_ids)
    for offset in range(0, rows, CHUNK):
        with transaction.atomic():
            bulk_insert(list(rows_of(columns, range(offset, min(offset + CHUNK, rows)))))
        print(f"  inserted {min(offset + CHUNK, rows):,} / {rows:,} ({time.perf_counter() - started:.0f} s)", flush=True)
    table_statistics_update()
    for version, accuracy in (("1", 0.71), ("2", 0.76), ("2", 0.78), ("3", 0.74)):
        Evaluation.objects.create(
            model_name="food-classifier", model_version=version, source="dataset", accuracy=accuracy, precision=accuracy - 0.02,
            recall=accuracy - 0.03, f1_score=accuracy - 0.025, sample_count=2_000,
        )  # fmt: skip
    return time.perf_counter() - started


# --- timing ---------------------------------------------------------------------------------------


def staff_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    return client


def time_request(client, method: str, path: str, params: dict, repeats: int) -> dict:
    """Median and p95 of ``repeats`` requests after a first one (reported as "first": caches and connections are cold)."""
    timings, first = [], None
    for attempt in range(repeats + 1):
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
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(np.ceil(0.95 * len(timings))) - 1)]
    return {"median": statistics.median(timings), "p95": p95, "first": first}


def endpoint_cases(now: datetime) -> list[tuple[str, str, str, dict]]:
    api = "/api/v1/mlops/"
    week = {"start": (now - timedelta(days=7)).isoformat()}
    return [
        ("experiments", "GET", api + "experiments", {}),
        ("runs (prediction, 50)", "GET", api + "runs", {"run_type": "prediction", "limit": 50}),
        ("runs (evaluation)", "GET", api + "runs", {"run_type": "evaluation"}),
        ("metrics (all rows)", "GET", api + "metrics", {}),
        ("model-versions", "GET", api + "model-versions", {}),
        # register-model (POST) is left out: it records an evaluation of a version the MLflow registry must hold,
        # and this benchmark's throwaway registry holds none (the endpoint answers 404 unknown_model_version).
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
    deep = week.values_list("id", flat=True)[min(5_000, week.count() - 1)]  # 101st page, or the last row at small --rows
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


def main() -> int:
    args = parse_args()
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="nutrilearn-monitoring-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    configure_django(workdir, database_url=args.database_url)
    from django.db import connection
    from django.utils import timezone

    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), {os.cpu_count()} cores")
    fill_seconds = fill(rows=args.rows, days=args.days, reuse=args.reuse)
    if fill_seconds:
        print(f"filled {args.rows:,} predictions in {fill_seconds:.1f} s ({args.rows / fill_seconds:,.0f} rows/s)")

    from mlops.rollups import rollups_refresh_job

    started = time.perf_counter()
    rollups_refresh_job()
    rollup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    rollups_refresh_job()
    incremental_seconds = time.perf_counter() - started
    print(f"rollups: first refresh {rollup_seconds:.1f} s, next refresh {incremental_seconds:.2f} s")
    drift_seconds = time_drift_report(args.days)
    client = staff_client()
    results = []
    for name, method, path, params in endpoint_cases(timezone.now()):
        repeats = max(3, args.repeats // 4) if method == "POST" else args.repeats
        timing = time_request(client, method, path, params, repeats)
        results.append((name, timing))
        print(f"  {name:<40} median {timing['median'] * 1000:7.1f} ms   p95 {timing['p95'] * 1000:7.1f} ms", flush=True)

    print("\nMLOps pages (server time through the test client; first = cold caches):", flush=True)
    pages = []
    for name, path, params in page_cases(timezone.now()):
        timing = time_request(client, "GET", path, params, args.repeats)
        pages.append((name, timing))
        print(f"  {name:<40} first {timing['first'] * 1000:7.1f} ms   median {timing['median'] * 1000:7.1f} ms   "
              f"p95 {timing['p95'] * 1000:7.1f} ms", flush=True)  # fmt: skip

    print(f"\ncreating {args.seed_runs} MLflow runs for the baseline loop ...", flush=True)
    experiment = seed_runs_create(args.seed_runs)
    seed_timings = []
    for _ in range(5):
        started = time.perf_counter()
        overview = seed_overview(experiment, args.seed_runs)
        seed_timings.append(time.perf_counter() - started)
    seed_median = statistics.median(seed_timings)
    assert overview["total_predictions"] == args.seed_runs

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
