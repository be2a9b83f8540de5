from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from mlops.percentiles import LATENCY_RELATIVE_ERROR
from mlops.selectors import confidence_summary, mirror_backlog, percentile, predictions_in_window, request_stats
from predictions.models import Prediction

from .factories import food_make, predictions_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def window():
    end = timezone.now()
    return end - timedelta(hours=1), end


def test_percentile_matches_numpy_linear_interpolation_from_both_ends(window):
    latencies = [0.05, 0.4, 0.1, 2.5, 0.3, 0.2, 1.1, 0.7, 0.9, 0.6, 3.0]
    for value in latencies:
        predictions_make(1, latency=value)
    queryset = predictions_in_window(start=window[0], end=window[1])
    for fraction in (0.0, 0.1, 0.5, 0.73, 0.95, 0.99, 1.0):
        expected = float(np.quantile(latencies, fraction))
        assert percentile(queryset, field="processing_time_seconds", fraction=fraction, count=len(latencies)) == pytest.approx(expected)


def test_percentile_of_nothing_is_none(window):
    assert percentile(predictions_in_window(start=window[0], end=window[1]), field="confidence", fraction=0.5, count=0) is None


def test_request_stats_reports_bad_input_apart_from_server_failures(window):
    predictions_make(16, latency=0.1, food=food_make("pizza"))
    predictions_make(3, status=Prediction.Status.REJECTED, latency=0.01)
    predictions_make(1, status=Prediction.Status.FAILED, latency=4.0)

    stats = request_stats(start=window[0], end=window[1])

    assert stats["total_requests"] == 20
    assert stats["client_error_count"] == 3
    assert stats["server_error_count"] == 1
    assert stats["error_count"] == 1
    assert stats["error_rate_percent"] == pytest.approx(5.0)
    assert stats["client_error_rate_percent"] == pytest.approx(15.0)
    assert stats["avg_response_time_seconds"] == pytest.approx((16 * 0.1 + 3 * 0.01 + 4.0) / 20)
    assert stats["p50_response_time_seconds"] == pytest.approx(0.1, rel=LATENCY_RELATIVE_ERROR)
    assert stats["p99_response_time_seconds"] > 2.0
    assert stats["throughput_per_minute"] == pytest.approx(20 / 60, rel=1e-3)


def test_request_stats_leaves_out_requests_outside_the_window(window):
    predictions_make(5, at=window[0] - timedelta(minutes=10))
    predictions_make(2, at=window[1] - timedelta(minutes=10))

    assert request_stats(start=window[0], end=window[1])["total_requests"] == 2


def test_request_stats_of_an_empty_window_has_no_latency_and_zero_rates(window):
    stats = request_stats(start=window[0], end=window[1])

    assert stats["total_requests"] == 0
    assert stats["error_rate_percent"] == 0.0
    assert stats["client_error_rate_percent"] == 0.0
    assert stats["p95_response_time_seconds"] is None
    assert stats["throughput_per_minute"] == 0.0


def test_confidence_summary_matches_numpy_and_filters_by_model_version(window):
    values = [0.2, 0.5, 0.55, 0.9, 0.95]
    for value in values:
        predictions_make(1, confidence=value, model_version="2")
    predictions_make(4, confidence=0.1, model_version="1")
    predictions_make(2, status=Prediction.Status.REJECTED)

    summary = confidence_summary(start=window[0], end=window[1], model_version="2")

    assert summary["count"] == 5
    assert summary["mean"] == pytest.approx(np.mean(values))
    assert summary["median"] == pytest.approx(0.55)
    assert summary["std"] == pytest.approx(np.std(values))
    assert (summary["min"], summary["max"]) == (0.2, 0.95)


def test_mirror_backlog_counts_unmirrored_successes_and_ages_the_oldest():
    predictions_make(2, at=timezone.now() - timedelta(minutes=30), mirrored=False)
    predictions_make(3, mirrored=True)
    predictions_make(1, status=Prediction.Status.REJECTED, mirrored=False)

    backlog = mirror_backlog()

    assert backlog["count"] == 2
    assert 29 * 60 < backlog["oldest_age_seconds"] < 31 * 60


def test_mirror_backlog_is_zero_when_everything_is_mirrored():
    predictions_make(3, mirrored=True)

    assert mirror_backlog() == {"count": 0, "oldest_age_seconds": 0.0, "given_up_count": 0}


def test_mirror_backlog_leaves_given_up_predictions_out_and_counts_them_apart(settings):
    settings.NUTRILEARN_MIRROR_MAX_ATTEMPTS = 3
    predictions_make(2, at=timezone.now() - timedelta(days=2), mirrored=False, mirror_attempts=3)
    predictions_make(1, at=timezone.now() - timedelta(minutes=10), mirrored=False, mirror_attempts=2)
    predictions_make(1, mirrored=False)

    backlog = mirror_backlog()

    assert (backlog["count"], backlog["given_up_count"]) == (2, 2)
    assert 9 * 60 < backlog["oldest_age_seconds"] < 11 * 60


def test_the_backlog_counts_the_rows_the_prediction_queryset_calls_pending_and_given_up(settings):
    settings.NUTRILEARN_MIRROR_MAX_ATTEMPTS = 2
    predictions_make(3, mirrored=False, mirror_attempts=2)
    predictions_make(2, mirrored=False, mirror_attempts=1)
    predictions_make(4, mirrored=True)
    predictions_make(2, status=Prediction.Status.FAILED, mirrored=False, mirror_attempts=5)

    backlog = mirror_backlog()

    assert backlog["given_up_count"] == Prediction.objects.mirror_given_up().count() == 3
    assert backlog["count"] == Prediction.objects.mirror_pending().count() == 2
