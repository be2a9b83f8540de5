"""``python -m bench --quick`` runs and writes its table, JSON and plots (their structure, not their numbers)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_a_quick_run_writes_the_table_the_json_and_the_latency_plot(tmp_path):
    out = tmp_path / "results"
    command = [sys.executable, "-m", "bench", "--quick", "--only", "predict", "--out", str(out)]

    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads((out / "results.json").read_text())
    assert document["mode"] == "quick"
    assert {"date", "cores", "cpu_model", "load_average_before", "load_average_after", "versions"} <= document["header"].keys()
    predict = [figure for figure in document["figures"] if figure["family"] == "predict"]
    assert [figure["name"] for figure in predict] == [
        "predict latency, 1024×768 JPEG, server-side",
        "predict latency, 12 MP JPEG, server-side",
        "forward pass of the served network, ready tensor",
    ]
    for figure in predict:
        assert figure["repeats"] == len(figure["samples"]) == len(figure["baseline_samples"]) > 1
        assert figure["ratio_min"] <= figure["ratio"] <= figure["ratio_max"]
    assert all(figure["passed"] in (True, False) for figure in predict[:2])  # a verdict against each latency target
    assert predict[2]["passed"] is None  # reported, no target
    table = (out / "results.md").read_text()
    assert "| figure | value | baseline or peer | ratio median [min–max] | target | verdict |" in table
    assert "predict latency, 12 MP JPEG, server-side" in table
    assert document["plots"] == ["latency.png"]
    assert (out / "latency.png").read_bytes().startswith(PNG)


def test_an_unknown_benchmark_name_is_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--only", "predict,warp-speed"])

    assert stopped.value.code == 2
    message = capsys.readouterr().err
    assert "unknown benchmark(s) warp-speed" in message
    assert "monitoring_postgresql" in message


def test_a_family_that_overruns_its_time_limit_is_stopped_and_becomes_a_row_saying_so(tmp_path):
    out = tmp_path / "results"

    # The mirror family starts Django, Redis and MLflow first: it cannot be done within a tenth of a second.
    status = main(["--only", "mirror", "--family-timeout", "0.1", "--out", str(out)])

    assert status == 1
    (row,) = json.loads((out / "results.json").read_text())["figures"]
    assert row["note"] == "not measured: stopped after 0.1 s (see logs/mirror.log)"
    assert (out / "logs" / "mirror.log").exists()
