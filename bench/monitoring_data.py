"""A million realistic predictions for the monitoring benchmark, inserted in bulk (executemany on SQLite, COPY on PostgreSQL).

A daily meal-time traffic cycle growing over the period, Zipf-like food shares that shift in the last
weeks, Beta-distributed confidences per model version (version 1, then version 2 with a challenger
share), log-normal latencies, 2 % rejected uploads and 0.3 % server failures, 3 % "no food", feedback on
5 % of the predictions (right with a probability that follows the confidence), signed-in users and
anonymous sessions, and a small unmirrored backlog. Embeddings and photos are left empty.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np

CHUNK = 100_000


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
