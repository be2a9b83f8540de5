"""Charts are pure functions: data in, a Plotly figure out, and None (an empty-state sentence on the page) for no data."""

from mlops import charts


def test_charts_without_data_return_none_instead_of_bare_axes():
    assert charts.predictions_per_day({}) is None
    assert charts.confidence_histogram(["0.00-0.50", "0.50-1.00"], [0, 0]) is None
    assert charts.top_foods([]) is None
    assert charts.latency_over_time([{"at": "2026-11-01", "count": 0, "p50": None, "p95": None}]) is None
    assert charts.food_shares({}, {"pizza": 3}, {}) is None
    assert charts.overlaid_distributions("Brightness", "0-1", [], [0.5]) is None
    assert charts.drift_history([{"at": "2026-11-01", "score": None, "verdict": "insufficient_data"}]) is None
    assert charts.evaluation_comparison([{"model_version": "1", "accuracy": None}]) is None
    assert charts.reliability_diagram([{"mean_confidence": 0.5, "accuracy": 0.5, "count": 0}]) is None
    assert charts.confusion_matrix(["a"], ["a"], [[0]]) is None


def test_days_are_drawn_as_dates_and_confidence_bins_in_band_colours():
    per_day = charts.predictions_per_day({"2026-11-01": 3, "2026-11-02": 5})
    histogram = charts.confidence_histogram(["0.70-0.80", "0.80-0.90", "0.90-1.00"], [1, 2, 9])

    assert per_day.layout.xaxis.type == "date"
    assert list(per_day.data[0].y) == [3, 5]
    assert list(histogram.data[0].marker.color) == [charts.LOW, charts.ACCEPTABLE, charts.GOOD]
    assert histogram.layout.xaxis.title.text == "confidence"


def test_latency_is_in_milliseconds_with_gaps_where_no_request_came():
    figure = charts.latency_over_time(
        [
            {"at": "2026-11-01", "count": 4, "p50": 0.1, "p95": 0.25},
            {"at": "2026-11-02", "count": 0, "p50": None, "p95": None},
            {"at": "2026-11-03", "count": 2, "p50": 0.2, "p95": 0.3},
        ]
    )

    assert list(figure.data[1].y) == [250.0, None, 300.0]
    assert figure.layout.yaxis.title.text == "milliseconds"


def test_food_shares_compare_each_window_as_a_share_of_itself():
    figure = charts.food_shares({"pizza": 30, "soup": 10}, {"pizza": 5, "salad": 15}, {"pizza": "Pizza", "salad": "Salad"})

    baseline, recent = figure.data
    assert list(baseline.y) == ["soup", "Salad", "Pizza"]
    assert list(baseline.x) == [25.0, 0.0, 75.0]
    assert list(recent.x) == [0.0, 75.0, 25.0]


def test_overlaid_distributions_share_their_bins_and_say_each_sample_size():
    figure = charts.overlaid_distributions("Brightness", "mean brightness", [0.1, 0.2, 0.3, 0.4], [0.7, 0.8], bins=4)

    baseline, recent = figure.data
    assert list(baseline.x) == list(recent.x)
    assert sum(baseline.y) == sum(recent.y) == 100.0
    assert (baseline.name, recent.name) == ("baseline (n=4)", "recent (n=2)")
