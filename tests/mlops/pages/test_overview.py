"""The Overview page: cards against the previous period, health with its reasons, open alerts and drift at the top."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from mlops.models import Alert, AlertRule, DriftReport
from mlops.pages.cards import card_compare
from mlops.pages.overview import latency_by_period
from mlops.percentiles import LATENCY_RELATIVE_ERROR
from predictions.models import Prediction

from ..factories import food_make, predictions_make

pytestmark = pytest.mark.django_db


def card(page: str, key: str) -> str:
    match = re.search(rf'id="card-{key}">(.*?)</div>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def test_cards_show_this_week_against_the_week_before(staff_client):
    now = timezone.now()
    pizza = food_make("pizza")
    predictions_make(10, at=now - timedelta(days=10), food=pizza, confidence=0.8)
    predictions_make(15, at=now - timedelta(days=2), food=pizza, confidence=0.95)
    predictions_make(5, at=now - timedelta(days=1), status=Prediction.Status.FAILED)

    page = staff_client.get("/mlops/", {"days": "7"}).content.decode()

    assert card(page, "predictions").startswith("Predictions 15 +50 % vs previous 7 days (10)")
    assert card(page, "confidence").startswith("Average confidence 95.0 % +15.0 points vs previous 7 days (80.0 %)")
    assert "Error rate (server failures) 25.00 % +25.00 points" in card(page, "errors")
    assert re.search(r'class="metric level-low" id="card-errors"', page)
    assert re.search(r'id="health-status">\s*unhealthy', page)  # 5 of 20 requests failed


def test_the_version_filter_narrows_the_cards(staff_client):
    pizza = food_make("pizza")
    predictions_make(4, food=pizza, model_version="1")
    predictions_make(6, food=pizza, model_version="2")

    page = staff_client.get("/mlops/", {"model_version": "2"}).content.decode()

    assert card(page, "predictions").startswith("Predictions 6 ")


def test_open_alerts_and_the_latest_scheduled_drift_verdict_are_at_the_top(staff_client):
    now = timezone.now()
    rule = AlertRule.objects.create(name="Drift detected", metric="drift_detected", operator="gt", threshold=0.5)
    Alert.objects.create(rule=rule, value=1.0, last_value=1.0)
    windows = {"baseline_start": now - timedelta(days=35), "baseline_end": now - timedelta(days=7), "recent_start": now - timedelta(days=7)}
    DriftReport.objects.create(**windows, recent_end=now, verdict="drift", drift_detected=True, drift_score=0.31, scheduled=True,
                               results={"drifting_checks": ["prediction", "brightness"]})  # fmt: skip
    DriftReport.objects.create(**windows, recent_end=now, verdict="no_drift", scheduled=False, results={})

    page = staff_client.get("/mlops/").content.decode()

    assert re.search(r'class="card alerts-open" id="open-alerts">.*?<p class="big">1</p>.*?Drift detected', page, re.S)
    assert re.search(r'class="card verdict-drift" id="drift-verdict">.*?drift detected.*?Food mix, Brightness', page, re.S)


def test_an_empty_window_says_what_is_missing_instead_of_drawing_empty_axes(staff_client):
    page = staff_client.get("/mlops/").content.decode()

    assert "No predictions in this window: the chart fills as photos are recognised." in page
    assert "No requests in this window: latency appears with the first upload." in page
    assert 'data-figure="figure-' not in page
    assert "No drift report yet" in page


def test_latency_percentiles_of_finished_periods_are_read_once(django_assert_num_queries):
    now = timezone.now().replace(minute=30)
    predictions_make(20, at=now - timedelta(hours=3), spacing=timedelta(seconds=30), latency=0.1)
    window = {"start": now - timedelta(hours=4), "end": now, "model_version": None}

    first = latency_by_period(**window, now=now)
    with django_assert_num_queries(2):  # the partial hours at both ends (a count each, no rows); the three whole hours are cached
        again = latency_by_period(**window, now=now)

    assert again == first
    assert [point["count"] for point in first] == [0, 20, 0, 0, 0]
    assert first[1]["p95"] == pytest.approx(0.1, rel=LATENCY_RELATIVE_ERROR)


def test_a_card_compares_rates_in_points_and_counts_in_percent():
    errors = card_compare("errors", "Error rate", 2.5, 1.0, kind="rate", better="lower", period="7 days")
    volume = card_compare("predictions", "Predictions", 30, 0, kind="count", better="neutral", period="7 days")

    assert (errors.change, errors.tone) == ("+1.50 points vs previous 7 days (1.00 %)", "worse")
    assert (volume.change, volume.tone) == ("none in the previous 7 days", "")
