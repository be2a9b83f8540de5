"""Monitoring at scale on one database: every /api/v1/mlops/ endpoint and ops page at 10 k, 100 k and 1 M predictions, the drift
report, against the original loop over 1,000 MLflow runs and, for the drift report, Evidently's DataDriftPreset in the peer
environment (``bench/peer_env.py``) when it is built.

Shared by ``monitoring_sqlite`` and ``monitoring_postgresql``: Django holds one database per process, so each is a family.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.django_setup import configure_django
from bench.evidently_peer import CATEGORICAL_COLUMNS, NUMERICAL_COLUMNS, handoff_write
from bench.figures import Figure, Target, measured, not_measured
from bench.monitoring_at_scale import (
    TARGET_DRIFT_SECONDS,
    TARGET_P95_SECONDS,
    TARGET_PAGE_SECONDS,
    ScaleRun,
    measure_scale,
    measure_seed_loop,
)
from bench.peer_env import EVIDENTLY_SCRIPT, HOW_TO_BUILD, PeerTiming, peer_python, peer_run

DAYS = 90
# Cost may grow by this much from the smallest table to the largest (100x the rows) and still count as flat or logarithmic;
# linear growth would be 100x.
GROWTH_LIMIT = 3.0
SEED_RUNS, SEED_RUNS_QUICK = 1_000, 30
CASE_BUDGET_SECONDS = 20.0
# The drift report's columns that Evidently can take as they are: the food (categorical) and the numbers of each photo.
EVIDENTLY_COLUMNS = (*CATEGORICAL_COLUMNS, *NUMERICAL_COLUMNS)


def sizes(quick: bool) -> tuple[int, ...]:
    return (1_000, 10_000) if quick else (10_000, 100_000, 1_000_000)


def run_on(*, database: str, database_url: str | None, quick: bool) -> list[Figure]:
    """Fill and time each size in turn on ``database_url`` (None: a throwaway SQLite file); the baseline loop once."""
    family = f"monitoring_{database}"
    with tempfile.TemporaryDirectory(prefix=f"nutrilearn-bench-{family}-") as tmp:
        configure_django(Path(tmp), database_url=database_url)
        # A case that takes seconds a request stops repeating after CASE_BUDGET_SECONDS (with 3 repeats at least).
        runs = [
            measure_scale(rows=rows, days=DAYS, repeats=3 if quick else 20, budget_seconds=CASE_BUDGET_SECONDS) for rows in sizes(quick)
        ]
        seed_runs = SEED_RUNS_QUICK if quick else SEED_RUNS
        loop = measure_seed_loop(seed_runs=seed_runs, repeats=3 if quick else 5)
        python = peer_python()
        peer = evidently_timing(python, Path(tmp)) if python else None
    largest = runs[-1]
    at = f"{largest.rows:,} predictions, {database}"
    loop_name = f"original loop over {seed_runs:,} MLflow runs"
    figures = []
    for name, timing in largest.endpoints:
        # Faster than the loop over 1,000 runs: checked in the full run only (--quick loops over fewer runs); the one write
        # (register-model records an evaluation in MLflow) has no counterpart in the loop.
        targets = [Target(TARGET_P95_SECONDS, of="value")]
        if seed_runs == SEED_RUNS and "POST" not in name:
            targets.append(Target(1.0))
        figures.append(
            measured(
                family, f"endpoint {name}, p95, {at}", unit="s", samples=timing["timings"], baseline_samples=loop, statistic="p95",
                baseline_name=loop_name, targets=targets, extra=cost_extra(runs, name, "endpoints", database),
            )
        )  # fmt: skip
    for name, timing in largest.pages:
        figures.append(
            measured(
                family, f"page {name}, p95 server time, {at}", unit="s", samples=timing["timings"], statistic="p95",
                targets=[Target(TARGET_PAGE_SECONDS, of="value")], extra=cost_extra(runs, name, "pages", database),
            )
        )  # fmt: skip
    figures.append(drift_figure(family, largest, at, peer))
    figures.append(growth_figure(family, runs, database))
    return figures


def cost_extra(runs: list[ScaleRun], name: str, kind: str, database: str) -> dict:
    """The case's p95 at every size, for the cost-against-rows plot."""
    cost = {str(run.rows): dict(getattr(run, kind))[name]["p95"] for run in runs}
    return {"case": name, "kind": kind, "database": database, "cost": cost}


def drift_figure(family: str, largest: ScaleRun, at: str, peer: PeerTiming | None) -> Figure:
    """The drift report's seconds against Evidently's (read + compute) when the peer environment ran, else a row saying how."""
    name = f"drift report (read, compute, store), {at}"
    targets = [Target(TARGET_DRIFT_SECONDS, of="value")]
    if peer is None:
        figure = Figure(family=family, name=name, unit="s", value=largest.drift_seconds, repeats=1, targets=targets)
        figure.baseline_name = f"Evidently DataDriftPreset: peer environment not built ({HOW_TO_BUILD})"
        return figure
    return measured(
        family, name, unit="s", samples=[largest.drift_seconds], baseline_samples=[peer.seconds],
        baseline_name=f"Evidently {peer.version} DataDriftPreset, same windows and columns (read + compute; file hand-off not counted)",
        targets=[*targets, Target(1.0)], note=f"Evidently: read {peer.read_seconds:.2f} s, compute {peer.compute_seconds:.2f} s",
    )  # fmt: skip


def growth_figure(family: str, runs: list[ScaleRun], database: str) -> Figure:
    """The worst growth of any endpoint or page's p95 from the smallest table to the largest."""
    smallest, largest = runs[0], runs[-1]
    growth = {}
    for kind in ("endpoints", "pages"):
        small = dict(getattr(smallest, kind))
        for name, timing in getattr(largest, kind):
            growth[name] = timing["p95"] / small[name]["p95"]
    worst = max(growth, key=growth.get)
    return Figure(
        family=family, name=f"how cost grows, {smallest.rows:,} → {largest.rows:,} predictions, {database}: worst p95 growth",
        unit="×", value=growth[worst], repeats=len(runs), targets=[Target(GROWTH_LIMIT, of="value")],
        target_note="flat or logarithmic, plotted", note=f"worst: {worst}; median growth {statistics.median(growth.values()):.2f}×",
    )  # fmt: skip


def evidently_timing(python: Path, folder: Path) -> PeerTiming:
    """Read the drift report's windows and columns here (timed), hand them to Evidently in the peer environment as Parquet
    files in ``folder`` (not timed), and time its DataDriftPreset there."""
    import pandas as pd
    from django.utils import timezone

    from mlops.selectors.windows import successful_predictions

    now = timezone.now()
    started = time.perf_counter()
    windows = (
        successful_predictions(start=now - timedelta(days=DAYS + 1), end=now - timedelta(days=7)),
        successful_predictions(start=now - timedelta(days=7), end=now),
    )
    reference, current = (
        pd.DataFrame.from_records(list(rows.values_list(*EVIDENTLY_COLUMNS)), columns=EVIDENTLY_COLUMNS) for rows in windows
    )
    read_seconds = time.perf_counter() - started
    handoff_write(folder, reference=reference, current=current)
    result = peer_run(python, EVIDENTLY_SCRIPT, folder)
    print(f"evidently {result['evidently']}: read {read_seconds:.2f} s, compute {result['seconds']:.2f} s, "
          f"{result['reference_rows']:,} + {result['current_rows']:,} rows", flush=True)  # fmt: skip
    return PeerTiming(read_seconds=read_seconds, compute_seconds=result["seconds"], version=result["evidently"])


def unreachable(family: str, *, reason: str) -> list[Figure]:
    """The family's rows when its database cannot be reached."""
    return [not_measured(family, f"monitoring endpoints and pages, {family.removeprefix('monitoring_')}", reason=reason)]
