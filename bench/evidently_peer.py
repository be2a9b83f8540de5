"""Evidently's DataDriftPreset as the drift report's peer, run under the peer environment's Python (no Django, no app imports).

    .venv-bench/bin/python bench/evidently_peer.py FOLDER

FOLDER holds ``reference.parquet`` and ``current.parquet`` (written by ``handoff_write`` in the app's process); prints
``{"seconds": ..., "evidently": "<version>", ...}`` as JSON, the seconds being ``Report([DataDriftPreset()]).run`` alone.
The app's environment imports this module for ``handoff_write``/``handoff_read`` only: Evidently cannot live there.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

CATEGORICAL_COLUMNS = ("food_id",)
NUMERICAL_COLUMNS = ("confidence", "brightness", "contrast", "sharpness")
WINDOWS = ("reference", "current")


def handoff_write(folder: Path, *, reference: pd.DataFrame, current: pd.DataFrame) -> None:
    """Write the two windows as Parquet files in ``folder`` (``food_id`` as strings, so no reader takes it for a number)."""
    for window, frame in zip(WINDOWS, (reference, current), strict=True):
        frame = frame.astype({name: "string" for name in CATEGORICAL_COLUMNS})
        frame.to_parquet(folder / f"{window}.parquet", index=False)


def handoff_read(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The (reference, current) windows that ``handoff_write`` wrote."""
    reference, current = (pd.read_parquet(folder / f"{window}.parquet") for window in WINDOWS)
    return reference, current


def drift_preset_seconds(reference: pd.DataFrame, current: pd.DataFrame) -> float:
    """Seconds for ``Report([DataDriftPreset()]).run(current, reference)``, column types given rather than inferred."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=list(NUMERICAL_COLUMNS), categorical_columns=list(CATEGORICAL_COLUMNS))
    started = time.perf_counter()
    # Wrapping the frames is part of Evidently's work (it infers nothing here, but copies and indexes columns).
    datasets = [Dataset.from_pandas(frame, data_definition=definition) for frame in (current, reference)]
    snapshot = Report([DataDriftPreset()]).run(*datasets)
    elapsed = time.perf_counter() - started
    drifted = snapshot.dict()["metrics"][0]["value"]
    print(f"evidently: drifted columns {drifted}", flush=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    from importlib.metadata import version

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    reference, current = handoff_read(args.folder)
    seconds = drift_preset_seconds(reference, current)
    result = {"seconds": seconds, "evidently": version("evidently"), "reference_rows": len(reference), "current_rows": len(current)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
