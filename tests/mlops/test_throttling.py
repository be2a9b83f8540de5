"""GET /api/v1/mlops/monitoring/drift: each user may have NUTRILEARN_DRIFT_COMPUTE_RATE new reports computed; stored answers are free."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from mlops.models import DriftReport
from predictions.throttling import cache_breaker
from tests.support.network import unused_port

from .factories import food_make, predictions_make

pytestmark = pytest.mark.django_db

DRIFT = "/api/v1/mlops/monitoring/drift"


@pytest.fixture
def two_windows(db):
    """Pizza three weeks ago, soup in the last days: enough rows in each window for a report."""
    now = timezone.now()
    predictions_make(40, at=now - timedelta(days=20), spacing=timedelta(minutes=30), food=food_make("pizza"))
    predictions_make(40, at=now - timedelta(days=1), spacing=timedelta(minutes=10), food=food_make("soup"))


def staff(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user(username, password="x", is_staff=True))
    return client


def test_new_reports_past_the_rate_get_429_with_retry_after_and_nothing_is_stored(settings, two_windows):
    settings.NUTRILEARN_DRIFT_COMPUTE_RATE = "2/hour"
    ops = staff("ops")

    statuses = [ops.get(DRIFT, {"window_days": days}).status_code for days in (2, 3)]
    refused = ops.get(DRIFT, {"window_days": 4})

    assert statuses == [200, 200]
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "throttled"
    assert "NUTRILEARN_DRIFT_COMPUTE_RATE" in error["message"]
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert DriftReport.objects.count() == 2


def test_answers_from_a_stored_report_do_not_count(settings, two_windows):
    settings.NUTRILEARN_DRIFT_COMPUTE_RATE = "1/hour"
    ops = staff("ops")

    repeated = [ops.get(DRIFT, {"window_days": 3}).status_code for _ in range(4)]
    report_ids = {ops.get(DRIFT, {"window_days": 3}).json()["data"]["report_id"]}
    other_windows = ops.get(DRIFT, {"window_days": 5})

    assert repeated == [200] * 4
    assert len(report_ids) == 1
    assert other_windows.status_code == 429
    assert DriftReport.objects.count() == 1


def test_each_user_has_a_budget_of_their_own(settings, two_windows):
    settings.NUTRILEARN_DRIFT_COMPUTE_RATE = "1/hour"
    alice, bob = staff("alice"), staff("bob")

    assert alice.get(DRIFT, {"window_days": 2}).status_code == 200
    assert alice.get(DRIFT, {"window_days": 3}).status_code == 429
    assert bob.get(DRIFT, {"window_days": 3}).status_code == 200
    assert DriftReport.objects.count() == 2


def test_reports_are_computed_when_the_throttle_cache_is_down(settings, two_windows, caplog):
    settings.NUTRILEARN_DRIFT_COMPUTE_RATE = "1/hour"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    cache_breaker.reset()
    ops = staff("ops")

    statuses = [ops.get(DRIFT, {"window_days": days}).status_code for days in (2, 3)]
    cache_breaker.reset()

    assert statuses == [200, 200]
    assert DriftReport.objects.count() == 2
    assert "drift compute throttling skipped" in caplog.text
