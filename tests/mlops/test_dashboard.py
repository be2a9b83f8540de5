"""The staff dashboard page renders stored results and aggregates."""

import json
import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from mlops.charts import confidence_histogram, predictions_per_day, reliability_diagram
from predictions.models import Food, Prediction

pytestmark = pytest.mark.django_db


def make_predictions(count: int, *, food: Food, confidence: float, status: str = "ok"):
    Prediction.objects.bulk_create(
        Prediction(
            status=status,
            food=food if status == "ok" else None,
            confidence=confidence if status == "ok" else None,
            processing_time_seconds=0.05,
            model_name="food-classifier",
            model_version="1",
            session_key=f"s{i % 3}",
        )
        for i in range(count)
    )


def test_charts_are_built_from_plain_data():
    figure = predictions_per_day({"2026-11-01": 3, "2026-11-02": 5})
    histogram = confidence_histogram(["0.00-0.50", "0.50-1.00"], [1, 9])
    reliability = reliability_diagram([{"mean_confidence": 0.9, "accuracy": 0.8, "count": 10}])

    assert list(figure.data[0].y) == [3, 5]
    assert list(histogram.data[0].y) == [1, 9]
    assert list(reliability.data[1].x) == [0.9]


def test_staff_see_volume_health_and_charts(client, catalogue):
    espresso = Food.objects.get(key="espresso")
    make_predictions(8, food=espresso, confidence=0.95)
    make_predictions(2, food=espresso, confidence=None, status="failed")
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))

    page = client.get("/mlops/?days=7").content.decode()

    assert re.search(r'id="health-status">\s*unhealthy', page)  # 2 of 10 requests failed: 20 % > 10 %
    assert "Predictions</span><strong>8</strong>" in page
    figure = json.loads(re.search(r'<script id="foods" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert figure["data"][0]["y"] == ["Espresso"]
    assert "plotly.min.js" in page


def test_rejected_uploads_alone_leave_the_dashboard_healthy(client, catalogue):
    espresso = Food.objects.get(key="espresso")
    make_predictions(8, food=espresso, confidence=0.95)
    make_predictions(2, food=espresso, confidence=None, status="rejected")
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))

    page = client.get("/mlops/?days=7").content.decode()

    assert re.search(r'id="health-status">\s*healthy', page)  # 2 of 10 uploads were bad input: the client's mistake


def test_the_dashboard_is_staff_only(client):
    User.objects.create_user("eve", password="pw-eve-123456")
    client.force_login(User.objects.get(username="eve"))

    response = client.get("/mlops/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_dashboard_shows_the_latest_scheduled_drift_report(client):
    from datetime import timedelta

    from mlops.models import DriftReport

    now = timezone.now()
    windows = {"baseline_start": now - timedelta(days=35), "baseline_end": now - timedelta(days=7), "recent_start": now - timedelta(days=7)}
    DriftReport.objects.create(
        **windows,
        recent_end=now,
        verdict="drift",
        drift_detected=True,
        drift_score=0.31,
        scheduled=True,
        results={"recommendation": "Food mix changed: review recent photos."},
    )
    DriftReport.objects.create(**windows, recent_end=now, verdict="no_drift", scheduled=False)
    client.force_login(User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456"))

    page = client.get("/mlops/").content.decode()

    assert "<strong>drift</strong>, drift score 0.310" in page
    assert "Food mix changed" in page
