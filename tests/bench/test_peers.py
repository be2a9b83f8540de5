"""The drift report's peer: the Parquet hand-off to the peer environment, the figure built from a peer timing, and (when
the optional .venv-bench is built) Evidently's DataDriftPreset run there."""

import numpy as np
import pandas as pd
import pytest

import bench.__main__ as bench_main
from bench.evidently_peer import handoff_read, handoff_write
from bench.families.monitoring import drift_figure
from bench.monitoring_at_scale import ScaleRun
from bench.peer_env import EVIDENTLY_SCRIPT, REQUIREMENTS, PeerTiming, peer_python, peer_run
from bench.registry import BY_NAME


def windows(rows: int, *, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a current window of the drift report's columns, the current one brighter."""
    rng = np.random.default_rng(seed)

    def window(size: int, brightness: float) -> pd.DataFrame:
        return pd.DataFrame({
            "food_id": rng.integers(1, 40, size), "confidence": rng.random(size), "brightness": rng.normal(brightness, 10, size),
            "contrast": rng.random(size), "sharpness": rng.random(size) * 100,
        })  # fmt: skip

    return window(rows, 100.0), window(rows // 4, 120.0)


def scale_run(drift_seconds: float) -> ScaleRun:
    return ScaleRun(rows=1_000_000, vendor="sqlite", fill_seconds=1.0, rollup_seconds=1.0, incremental_seconds=0.1,
                    drift_seconds=drift_seconds)  # fmt: skip


def test_the_handoff_reads_back_the_same_windows_with_food_ids_as_categories(tmp_path):
    reference, current = windows(500)

    handoff_write(tmp_path, reference=reference, current=current)
    read_reference, read_current = handoff_read(tmp_path)

    for written, read in ((reference, read_reference), (current, read_current)):
        assert read["food_id"].tolist() == written["food_id"].astype(str).tolist()
        numbers = ["confidence", "brightness", "contrast", "sharpness"]
        pd.testing.assert_frame_equal(read[numbers], written[numbers])


def test_the_drift_figure_is_a_ratio_to_evidentlys_read_plus_compute_when_the_peer_ran():
    peer = PeerTiming(read_seconds=1.0, compute_seconds=3.0, version="0.7.23")

    figure = drift_figure("monitoring_sqlite", scale_run(1.5), "1,000,000 predictions, sqlite", peer)

    assert (figure.value, figure.baseline, figure.ratio) == (1.5, 4.0, 0.375)
    assert figure.baseline_name.startswith("Evidently 0.7.23 DataDriftPreset")
    assert "file hand-off not counted" in figure.baseline_name
    assert figure.passed is True


def test_the_drift_figure_is_slower_than_the_peer_and_fails_its_target():
    peer = PeerTiming(read_seconds=0.5, compute_seconds=0.5, version="0.7.23")

    figure = drift_figure("monitoring_sqlite", scale_run(1.5), "1,000,000 predictions, sqlite", peer)

    assert figure.ratio == 1.5
    assert figure.passed is False


def test_without_the_peer_environment_the_drift_row_says_how_to_build_it():
    figure = drift_figure("monitoring_sqlite", scale_run(1.5), "1,000,000 predictions, sqlite", None)

    assert figure.baseline is None
    assert "peer environment not built" in figure.baseline_name
    assert "--peers" in figure.baseline_name


def test_a_peer_environment_built_from_other_requirements_counts_as_absent(tmp_path):
    requirements = tmp_path / "requirements-bench-peers.txt"
    requirements.write_text("evidently==0.7.23\n")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / "built-from-requirements-bench-peers.txt").write_text("evidently==0.7.21\n")

    assert peer_python(venv, requirements) is None
    requirements.write_text("evidently==0.7.21\n")
    assert peer_python(venv, requirements) == venv / "bin" / "python"


@pytest.mark.slow
@pytest.mark.skipif(
    peer_python() is None, reason="optional tooling: .venv-bench is not built (python -m bench --peers --only monitoring_sqlite)"
)
def test_evidently_times_its_drift_preset_in_the_peer_environment(tmp_path):
    reference, current = windows(2_000)
    handoff_write(tmp_path, reference=reference, current=current)

    result = peer_run(peer_python(), EVIDENTLY_SCRIPT, tmp_path)

    assert result["seconds"] > 0
    assert (result["reference_rows"], result["current_rows"]) == (2_000, 500)
    assert f"evidently=={result['evidently']}" in REQUIREMENTS.read_text().splitlines()


@pytest.mark.parametrize(
    ("families", "quick", "peers", "builds"),
    [
        (["monitoring_sqlite"], False, None, True),
        (["monitoring_sqlite"], True, None, False),
        (["monitoring_sqlite"], True, True, True),
        (["monitoring_sqlite"], False, False, False),
        (["predict", "mirror"], False, None, False),
    ],
)
def test_the_peer_environment_is_built_by_full_runs_of_a_family_with_a_peer_or_on_request(monkeypatch, families, quick, peers, builds):
    builds_seen = []
    # Building runs venv and pip in processes of their own (minutes): recorded instead; the environment is missing.
    monkeypatch.setattr(bench_main, "peer_env_build", lambda: builds_seen.append(True))
    monkeypatch.setattr(bench_main, "peer_python", lambda: None)

    bench_main.peers_ensure([BY_NAME[name] for name in families], quick=quick, peers=peers)

    assert bool(builds_seen) is builds
