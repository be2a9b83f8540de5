"""The arithmetic of a figure (ratios over repeats, targets) and the table it ends up in, without measuring anything."""

import json

import pytest

from bench.figures import Figure, Target, measured, measured_once, not_measured
from bench.report import write_results

HEADER = {
    "date": "2026-11-29T12:00:00+00:00", "commit": "abc1234", "wall_seconds": 12.0, "cores": 2, "cpu_model": "a CPU",
    "platform": "Linux", "load_average_before": [1.0, 0.5, 0.25], "load_average_after": [2.0, 1.0, 0.5],
    "versions": {"python": "3.11", "torch": "2"},
}  # fmt: skip


def test_ratios_are_per_round_when_the_baseline_was_timed_in_the_same_rounds():
    figure = measured("predict", "latency", unit="s", samples=[2.0, 4.0, 6.0], baseline_samples=[1.0, 2.0, 2.0], targets=[Target(2.5)])

    assert (figure.value, figure.baseline) == (4.0, 2.0)
    assert (figure.ratio, figure.ratio_min, figure.ratio_max) == (2.0, 2.0, 3.0)
    assert figure.passed is True


def test_a_p95_figure_is_compared_with_the_median_of_its_baseline():
    samples = [0.1, 0.2, 0.3, 0.4, 1.0]
    figure = measured("monitoring", "endpoint", unit="s", samples=samples, baseline_samples=[0.5, 0.4, 0.6], statistic="p95")

    assert figure.value == pytest.approx(0.4 + 0.8 * (1.0 - 0.4))  # interpolated, as the monitoring API's p95
    assert figure.ratio == pytest.approx(figure.value / 0.5)
    assert (figure.ratio_min, figure.ratio_max) == (pytest.approx(0.1 / 0.5), pytest.approx(1.0 / 0.5))


def test_every_target_must_hold_for_a_pass():
    rate = [Target(40, at_most=False), Target(2000, of="value", at_most=False)]

    fast_enough = measured("mirror", "rate", unit="/s", samples=[3000.0], baseline_samples=[50.0], targets=rate)
    too_slow = measured("mirror", "rate", unit="/s", samples=[1500.0], baseline_samples=[10.0], targets=rate)

    assert fast_enough.passed is True
    assert too_slow.passed is False
    assert too_slow.target_text == "≥ 40×, ≥ 2,000 /s"


def test_a_row_not_measured_has_no_verdict_and_says_why():
    figure = not_measured("shadow", "upload latency with shadow mode on", reason="no shadow mode yet", targets=[Target(1.05)])

    assert figure.passed is None
    assert figure.note == "not measured: no shadow mode yet"


def test_a_figure_survives_the_json_round_trip_with_its_verdict():
    figure = measured_once("training", "time", unit="s", value=600.0, baseline=300.0, targets=[Target(1800, of="value")])

    again = Figure.from_dict(json.loads(json.dumps(figure.as_dict())))

    assert again == figure
    assert (again.ratio, again.passed) == (2.0, True)


def test_the_table_has_the_machine_in_its_header_and_one_row_per_figure(tmp_path):
    figures = [
        measured("predict", "latency", unit="s", samples=[0.06, 0.05], baseline_samples=[0.04, 0.05], targets=[Target(1.5)]),
        not_measured("memory", "two models", reason="no A/B serving yet"),
    ]

    write_results(tmp_path, HEADER, figures, mode="quick", plots=["latency.png"])

    text = (tmp_path / "results.md").read_text()
    assert "2 cores, a CPU" in text
    assert "before 1.00 / 0.50 / 0.25, after 2.00 / 1.00 / 0.50" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert len(rows) == 2
    assert rows[0].endswith("| ≤ 1.5× | pass |")
    assert rows[1].endswith("| not measured: no A/B serving yet |")
    assert "![latency](latency.png)" in text
    document = json.loads((tmp_path / "results.json").read_text())
    assert [figure["passed"] for figure in document["figures"]] == [True, None]


def _training_run(**changes) -> dict:
    run = {
        "forward_photos_per_second": 50.0, "training_photos": 3750, "caching_photos_per_second": 40.0, "seconds_per_epoch": 30.0,
        "seconds_per_1000_photos": 100.0, "total_seconds": 500.0, "probe_done_seconds": 200.0, "views_used": 4, "epochs_run": 10,
        "threads_per_epoch": [2] * 10, "accuracy": 0.95, "probe_accuracy": 0.93,
    }  # fmt: skip
    return {**run, **changes}


def test_training_rows_compare_with_the_forward_pass_and_hold_half_the_reference_time():
    from bench.families.training import figures_of

    rows = {figure.name.split(",")[0]: figure for figure in figures_of(_training_run(), shape="10 classes", budget_minutes=30)}

    per_1000 = rows["seconds per 1"]
    assert per_1000.baseline == pytest.approx(20.0)  # 1,000 photos at 50 photos/s
    assert per_1000.ratio == pytest.approx(5.0)
    assert per_1000.passed is True  # 100 s < 160.5 s
    assert rows["fine-tuning epoch"].ratio == pytest.approx(30.0 / 75.0)  # 3,750 forward passes take 75 s
    assert rows["caching pass"].ratio == pytest.approx(0.8)
    assert rows["training time"].passed is True
    slow_run = figures_of(_training_run(seconds_per_1000_photos=170.0), shape="x", budget_minutes=30)
    slow = {figure.name.split(",")[0]: figure for figure in slow_run}
    assert slow["seconds per 1"].passed is False
