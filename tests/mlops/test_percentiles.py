"""One percentile definition: linear interpolation between the closest ranks, the same in the API and in MLflow."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db.models import F

from mlops.mirror import PendingPrediction, window_points
from mlops.percentiles import (
    LATENCY_BIN_RATIO,
    LATENCY_RELATIVE_ERROR,
    histogram_percentile,
    latency_bin,
    latency_bin_value,
    latency_histogram,
    latency_percentile,
    percentile,
    rank_position,
)
from mlops.selectors import request_stats
from mlops.sql import LatencyBin
from predictions.models import Prediction

from .factories import predictions_make

LATENCIES = [0.05, 0.4, 0.1, 2.5, 0.3, 0.2, 1.1, 0.7, 0.9, 0.6, 3.0]


def test_a_percentile_interpolates_between_the_two_closest_ranks_as_numpy_does():
    for fraction in (0.0, 0.1, 0.5, 0.73, 0.95, 0.99, 1.0):
        assert percentile(LATENCIES, fraction) == pytest.approx(float(np.quantile(LATENCIES, fraction)))


def test_the_p95_of_four_latencies_lies_between_the_two_slowest():
    assert percentile([0.1, 0.2, 0.3, 1.0], 0.95) == pytest.approx(0.3 + 0.85 * 0.7)


def test_the_percentile_of_one_value_is_that_value_and_of_none_is_none():
    assert (percentile([0.4], 0.95), percentile([], 0.5)) == (0.4, None)


def test_a_fraction_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        rank_position(95, 10)


@pytest.mark.django_db
def test_the_window_p95_logged_to_mlflow_is_the_p95_the_api_reports_for_the_same_predictions():
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    rows = [predictions_make(1, at=start + timedelta(seconds=index), latency=value)[0] for index, value in enumerate(LATENCIES)]
    pending = [
        PendingPrediction(row.pk, row.created_at, row.confidence, row.processing_time_seconds, False, None, row.model_name, "1")
        for row in Prediction.objects.filter(pk__in=[row.pk for row in rows])
    ]

    logged = {p.key: p.value for p in window_points(window_start=start, window_seconds=60, predictions=pending)}
    reported = request_stats(start=start, end=start + timedelta(seconds=60))

    assert logged["window_latency_p95_seconds"] == pytest.approx(reported["p95_response_time_seconds"])
    assert logged["window_latency_p50_seconds"] == pytest.approx(reported["p50_response_time_seconds"])


# --- latency: histogram percentiles ------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 7, 100, 5_000])
def test_latency_percentiles_from_the_histogram_are_within_the_stated_bound_of_the_exact_ones(count):
    rng = np.random.default_rng(count)
    latencies = np.exp(rng.normal(np.log(0.15), 0.9, count)).tolist()

    for fraction in (0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0):
        exact = percentile(latencies, fraction)
        assert latency_percentile(latencies, fraction) == pytest.approx(exact, rel=LATENCY_RELATIVE_ERROR)


def test_the_stated_bound_is_under_one_percent_and_tight():
    # A value at a bin's lower edge is the farthest from the bin's midpoint.
    edge = latency_bin_value(400) / LATENCY_BIN_RATIO**0.5 * (1 + 1e-9)

    assert LATENCY_RELATIVE_ERROR < 0.01
    assert latency_percentile([edge], 0.5) / edge - 1 == pytest.approx(LATENCY_RELATIVE_ERROR, rel=1e-6)


def test_histograms_add_up_so_a_percentile_over_two_days_is_the_percentile_of_their_union():
    monday, tuesday = [0.1, 0.2, 0.3], [0.05, 1.5, 2.0, 0.25]
    merged = latency_histogram(monday)
    for index, count in latency_histogram(tuesday).items():
        merged[index] = merged.get(index, 0) + count

    assert histogram_percentile(merged, 0.95) == latency_percentile(monday + tuesday, 0.95)
    assert histogram_percentile({}, 0.5) is None


@pytest.mark.django_db
def test_the_database_bins_latencies_as_python_does():
    values = [0.0, 5e-5, 1e-4, 0.0012, 0.15, 0.151, 2.0, 7.5, 1e6]
    rows = [predictions_make(1, latency=value)[0] for value in values]
    predictions_make(1, latency=None)

    binned = dict(
        Prediction.objects.filter(pk__in=[row.pk for row in rows])
        .annotate(bin=LatencyBin(F("processing_time_seconds")))
        .values_list("processing_time_seconds", "bin")
    )

    assert binned == {value: latency_bin(value) for value in values}
    assert Prediction.objects.annotate(bin=LatencyBin(F("processing_time_seconds"))).filter(bin__isnull=True).count() == 1
