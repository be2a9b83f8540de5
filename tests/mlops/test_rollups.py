"""The rollups change how all-data monitoring is computed, never what it answers."""

import statistics
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mlops import percentiles, rollups, selectors
from mlops.models import WHOLE_DAY, JobRun, LatencyDay, PredictionDay, RollupState, UserDay
from mlops.rollups import rollups_refresh, rollups_refresh_job
from mlops.rollups.days import HOURLY_DAYS, STATE_NAME, has_hour_rows, midnight
from predictions.models import Prediction
from tests.support.migrations import migrated_back_to

from .factories import food_make, predictions_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """Ten days of mixed traffic (two versions, signed-in and anonymous users, errors), some of it today."""
    pizza, soup = food_make("pizza"), food_make("soup")
    alice = get_user_model().objects.create_user("alice")
    now = timezone.now()
    for day in range(10):
        at = now - timedelta(days=day, hours=1)
        predictions_make(3, at=at, food=pizza, confidence=0.5 + day / 40, model_version="1", user=alice, latency=0.1 + day / 20)
        predictions_make(2, at=at, food=soup, confidence=0.95, model_version="2", session_key=f"s{day % 3}")
        predictions_make(1, at=at, status=Prediction.Status.FAILED)
    predictions_make(2, at=now - timedelta(days=4), food=None, confidence=None, no_food=True, session_key="s9")
    return now


def rounded(value):
    """Floats to 9 places, recursively: sums over days and over rows differ in the last bits."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def answers(**window):
    return rounded(
        {
            "metrics": selectors.metrics_overview(**window),
            "predictions": selectors.prediction_statistics(**window),
            "confidence": selectors.confidence_histogram(bins=10, **window),
            "confidence_odd_bins": selectors.confidence_histogram(bins=7, **window),
            "requests": selectors.request_stats(**window),
            "users": selectors.users_of(**window),
            "latency_by_day": rollups.latency_histograms_by_day(**window),
            "estimates": [
                [item["model_version"], item["accuracy_estimate"]["mean_confidence"], item["accuracy_estimate"]["prediction_count"]]
                for item in selectors.calibration_by_version(bins=10, **window)
            ],
        }
    )


@pytest.mark.parametrize(
    "window",
    [
        {},
        {"model_version": "2"},
        {"start_days": 6.5},
        {"start_days": 8, "end_days": 2.3},
        {"start_days": 1.2, "end_days": 1.01},
        {"start_days": 0.5},
        {"start_days": 9.6, "end_days": 9.1},
        {"start_days": 9.5, "end_days": 0.3},
    ],
)
def test_answers_are_the_same_with_and_without_rollups(history, window):
    arguments = {"model_version": window.get("model_version")}
    arguments["start"] = history - timedelta(days=window["start_days"]) if "start_days" in window else None
    arguments["end"] = history - timedelta(days=window["end_days"]) if "end_days" in window else None
    live = answers(**arguments)

    rollups_refresh()

    assert PredictionDay.objects.exists()
    assert answers(**arguments) == live


def test_predictions_after_a_refresh_are_counted_live(history):
    rollups_refresh()
    before = selectors.metrics_overview(start=None, end=None)["overview"]["total_predictions"]

    # Stamped now: the factory's default (five minutes ago) falls in an hour the refresh already
    # rolled up whenever the test runs in the first minutes of an hour.
    predictions_make(4, at=timezone.now(), food=food_make("pizza"), session_key="late")

    overview = selectors.metrics_overview(start=None, end=None)["overview"]
    assert overview["total_predictions"] == before + 4
    assert overview["unique_users"] == 6


def rollup_rows():
    return {
        "days": sorted(PredictionDay.objects.values_list("day", "model_version", "food_id", "status", "count")),
        "latency": sorted(LatencyDay.objects.values_list("day", "model_version", "bin", "count")),
        "users": sorted(UserDay.objects.values_list("day", "model_version", "user", "count")),
    }


def test_a_refresh_is_idempotent(history):
    rollups_refresh()
    first = rollup_rows()

    rollups_refresh()
    rollups_refresh(rebuild=True)

    assert rollup_rows() == first
    assert all(first.values())


def test_a_refresh_after_new_predictions_gives_what_a_rebuild_from_scratch_gives(history):
    rollups_refresh(now=history - timedelta(days=3))
    predictions_make(3, at=history - timedelta(days=2, hours=5), food=food_make("pizza"), latency=0.7, session_key="late")

    rollups_refresh(now=history)
    incremental = rollup_rows()
    for model in (PredictionDay, LatencyDay, UserDay):
        model.objects.all().delete()
    rollups_refresh(now=history, rebuild=True)

    assert rollup_rows() == incremental


@pytest.mark.parametrize("window", [{"start_days": 6.5}, {"start_days": 8, "end_days": 2.3}, {"start_days": 5, "model_version": "2"}])
def test_distinct_users_of_a_window_from_the_rollups_are_those_counted_over_its_rows(history, window):
    arguments = {"start": history - timedelta(days=window["start_days"]), "model_version": window.get("model_version")}
    arguments["end"] = history - timedelta(days=window["end_days"]) if "end_days" in window else None
    rollups_refresh()

    from_rollups = selectors.users_of(**arguments)

    assert from_rollups == selectors.user_activity(selectors.successful_predictions(**arguments))
    assert from_rollups["unique_users"] >= 2


def test_latency_percentiles_of_a_window_read_the_daily_histograms_and_the_edges_live(history):
    window = {"start": history - timedelta(days=8, hours=6), "end": history - timedelta(hours=12)}
    rollups_refresh()

    with CaptureQueriesContext(connection) as captured:
        stats = selectors.request_stats(**window)

    latencies = selectors.predictions_in_window(**window).values_list("processing_time_seconds", flat=True)
    assert stats["p95_response_time_seconds"] == percentiles.latency_percentile(latencies, 0.95)
    assert stats["total_requests"] == len(latencies)
    reads_of_predictions = [query["sql"] for query in captured.captured_queries if "predictions_prediction" in query["sql"]]
    assert reads_of_predictions and not any("ORDER BY" in sql for sql in reads_of_predictions)  # nothing sorts latencies


def test_whole_hours_at_a_windows_edges_are_read_from_the_rollups(history):
    day_start = midnight((history - timedelta(days=5)).date())
    window = {"start": day_start + timedelta(hours=5, minutes=30), "end": day_start + timedelta(days=2, hours=20, minutes=10)}
    inside = [day_start + timedelta(hours=9), day_start + timedelta(days=2, hours=18, minutes=5)]
    for at in inside:
        predictions_make(2, at=at, food=food_make("pizza"), session_key="edge", latency=3.0)
    rollups_refresh(now=history)
    rolled = ("metrics", "predictions", "requests", "users", "latency_by_day")
    before = answers(**window)

    # Gone from the table but not from the rollups: whole hours inside the window are answered by the hour rows.
    Prediction.objects.filter(created_at__in=inside).delete()

    after = answers(**window)
    assert {name: after[name] for name in rolled} == {name: before[name] for name in rolled}
    assert after["confidence"]["counts"] == before["confidence"]["counts"]
    assert before["metrics"]["overview"]["total_predictions"] >= 4


def test_only_the_last_days_keep_hour_rows(history):
    rollups_refresh(now=history)

    hourly_days = set(PredictionDay.objects.exclude(hour=WHOLE_DAY).values_list("day", flat=True))
    assert min(hourly_days) >= (history - timedelta(days=HOURLY_DAYS + 1)).date()
    assert PredictionDay.objects.filter(day__lt=min(hourly_days), hour=WHOLE_DAY).exists()


def days_back_with_hour_rows(today) -> set[int]:
    return {(today - day).days for day in PredictionDay.objects.exclude(hour=WHOLE_DAY).values_list("day", flat=True)}


def test_the_days_where_the_pages_windows_start_keep_hour_rows_as_the_days_go_by(history):
    for back in range(26, 34):
        predictions_make(2, at=history - timedelta(days=back), food=food_make("pizza"), session_key="old")
    today = (history - timedelta(seconds=60)).date()
    rollups_refresh(now=history)
    assert days_back_with_hour_rows(today) - set(range(HOURLY_DAYS + 1)) == {29, 30}

    # A day later the start of "the last 30 days" has moved on by a day: its new day gains hour rows, the old one loses them.
    rollups_refresh(now=history + timedelta(days=1))
    assert days_back_with_hour_rows(today + timedelta(days=1)) - set(range(HOURLY_DAYS + 1)) == {29, 30}
    assert PredictionDay.objects.filter(day=today - timedelta(days=30), hour=WHOLE_DAY).exists()


def test_the_last_30_days_read_the_whole_hours_of_their_first_day_from_the_rollups(history):
    first_day = midnight((history - timedelta(days=30)).date())
    window = {"start": first_day + timedelta(hours=5, minutes=30), "end": history}
    inside = [first_day + timedelta(hours=9), first_day + timedelta(hours=20, minutes=5)]
    for at in inside:
        predictions_make(2, at=at, food=food_make("pizza"), session_key="first-day", latency=3.0)
    predictions_make(1, at=first_day + timedelta(hours=2), food=food_make("soup"), session_key="before-the-window")
    live = answers(**window)
    rollups_refresh(now=history)
    assert answers(**window) == live

    # Gone from the table but not from the rollups: the first day's whole hours are answered by its hour rows.
    Prediction.objects.filter(created_at__in=inside).delete()

    after = answers(**window)
    rolled = ("metrics", "predictions", "requests", "users", "latency_by_day")
    assert {name: after[name] for name in rolled} == {name: live[name] for name in rolled}
    assert after["confidence"]["counts"] == live["confidence"]["counts"]


def test_each_day_is_written_in_its_own_transaction(history):
    with CaptureQueriesContext(connection) as captured:
        outcome = rollups_refresh()

    # Inside the test's own transaction every atomic block is a savepoint.
    days_per_block, block = [], None
    for query in captured.captured_queries:
        if query["sql"].startswith("SAVEPOINT"):
            block = 0
        elif query["sql"].startswith("RELEASE SAVEPOINT"):
            days_per_block.append(block)
            block = None
        elif query["sql"].startswith('DELETE FROM "mlops_predictionday" WHERE "mlops_predictionday"."day" = '):
            assert block is not None, "a day was written outside a transaction of its own"
            block += 1
    assert outcome["days"] >= 10
    assert (max(days_per_block), sum(days_per_block)) == (1, outcome["days"])


def test_user_totals_added_in_batches_give_the_same_answers(history, monkeypatch):
    live = answers(start=None, end=None, model_version=None)
    monkeypatch.setattr(rollups, "USER_TOTALS_BATCH", 7)

    outcome = rollups_refresh()

    with_a_user = Prediction.objects.filter(status=Prediction.Status.OK).exclude(session_key="", user=None)
    assert outcome["user_predictions_added"] == with_a_user.count()
    assert RollupState.objects.get().last_prediction_id == Prediction.objects.order_by("-id").values_list("id", flat=True)[0]
    assert answers(start=None, end=None, model_version=None) == live


def test_days_before_the_last_refresh_are_complete_and_today_is_not(history):
    rollups_refresh(now=history)

    assert RollupState.objects.get().complete_before == (history - timedelta(seconds=60)).date()


def test_the_refresh_job_is_recorded():
    rollups_refresh_job()

    job = JobRun.objects.get(name="monitoring_rollups_refresh")
    assert job.status == JobRun.Status.SUCCEEDED
    assert job.finished_at is not None


def test_new_predictions_of_a_known_user_add_to_that_user_after_a_refresh(history):
    rollups_refresh()
    alice = get_user_model().objects.get(username="alice")

    predictions_make(5, at=timezone.now(), food=food_make("pizza"), user=alice)

    activity = selectors.prediction_statistics(start=None, end=None)
    assert activity["unique_users"] == 5
    assert activity["predictions_per_user"]["max"] == 30 + 5


def test_windowed_reads_after_a_refresh_count_what_that_refresh_wrote(history):
    window = {"start": history - timedelta(days=8), "end": history - timedelta(days=1)}
    rollups_refresh()
    before = answers(**window)

    predictions_make(2, at=history - timedelta(days=3), food=food_make("pizza"), session_key="backdated", latency=9.0)
    rollups_refresh(rebuild=True)

    after = answers(**window)
    assert after["users"]["unique_users"] == before["users"]["unique_users"] + 1
    assert after["metrics"]["overview"]["total_predictions"] == before["metrics"]["overview"]["total_predictions"] + 2
    assert after["requests"]["p99_response_time_seconds"] > before["requests"]["p99_response_time_seconds"]
    assert after == answers(**window) == rounded_live(**window)


def rounded_live(**window):
    """The same answers with no rollup at all (every row read live)."""
    RollupState.objects.update(complete_before=None)
    return answers(**window)


@pytest.mark.parametrize("window", [{}, {"start_days": 6.5}, {"start_days": 8, "end_days": 1.5}, {"start_days": 9, "model_version": "1"}])
def test_the_median_confidence_read_within_its_bin_is_the_median_of_the_windows_rows(window):
    now = timezone.now()
    confidences = (0.29, 0.901, 0.57, 0.903, 1.0, 0.905, 0.5, 0.907, 0.909, 0.29, 0.902, 0.904)
    for offset, confidence in enumerate(confidences):
        at = now - timedelta(days=offset * 0.7, hours=3)
        predictions_make(1, at=at, food=food_make("pizza"), confidence=confidence, model_version=str(1 + offset % 2))
    arguments = {"model_version": window.get("model_version")}
    arguments["start"] = now - timedelta(days=window["start_days"]) if "start_days" in window else None
    arguments["end"] = now - timedelta(days=window["end_days"]) if "end_days" in window else None
    rollups_refresh()

    median = selectors.confidence_histogram(bins=10, **arguments)["statistics"]["median"]

    in_window = list(selectors.successful_predictions(**arguments).values_list("confidence", flat=True))
    assert len(in_window) >= 4
    assert median == statistics.median(in_window)


def test_every_window_of_the_pages_and_the_period_it_is_compared_with_start_on_days_with_hour_rows():
    from mlops.pages.filters import DAY_CHOICES

    today = timezone.now().date()
    for days in DAY_CHOICES:
        for back in (days, 2 * days):
            # From midnight until the first refresh of the day, the last refresh completed the days before yesterday.
            for complete_before in (today, today - timedelta(days=1)):
                assert has_hour_rows(today - timedelta(days=back), complete_before), (days, back, complete_before)
    assert not has_hour_rows(today - timedelta(days=45), today)


@pytest.mark.django_db(transaction=True)
def test_after_the_upgrade_that_keeps_hour_rows_where_windows_start_every_day_is_rebuilt_before_readers_trust_them():
    with migrated_back_to("mlops", "0012_hourly_rollups_for_window_edges") as apps:
        now = timezone.now()
        apps.get_model("mlops", "RollupState").objects.update_or_create(
            name=STATE_NAME, defaults={"refreshed_at": now, "complete_before": now.date()}
        )

    state = RollupState.objects.get(name=STATE_NAME)
    assert (state.refreshed_at, state.complete_before) == (None, None)  # readers live; the next refresh rebuilds every day
