"""``python -m bench``: every headline figure against its baseline, one table, results.md + results.json + PNG plots.

    python -m bench [--quick] [--only predict,mirror,...] [--out DIR] [--family-timeout SECONDS] [--peers | --no-peers]

Each family (bench/registry.py) runs in a process of its own; the table is written again after each one, so an
interrupted run keeps what it measured. ``--quick`` uses smaller sizes and fewer repeats (a few minutes).
Peers that cannot share the app's environment (Evidently) run in ``.venv-bench/``: a full run builds it when a selected
family needs it and it is missing or stale (minutes); ``--quick`` does not unless ``--peers``; ``--no-peers`` never does.
Exit status 1 when a family failed or overran its time limit; a figure below its target is reported, not an error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import Figure, not_measured
from bench.machine import load_average, machine_header
from bench.peer_env import REQUIREMENTS, peer_env_build, peer_python
from bench.plots import write_plots
from bench.registry import BENCHMARKS, BY_NAME, Benchmark
from bench.report import table_rows, write_results

ROOT = Path(__file__).resolve().parent.parent
CLEANUP_SECONDS = 120  # a stopped family's servers (the production stack) take a while to shut down


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (a few minutes)")
    parser.add_argument("--only", default="", help=f"comma-separated families: {', '.join(BY_NAME)}")
    parser.add_argument("--out", type=Path, help="results folder (default var/bench/<UTC timestamp>/)")
    parser.add_argument(
        "--family-timeout", type=float, default=None, help="seconds one family may take (default: the registry's, quick 300)"
    )
    parser.add_argument(
        "--peers", action=argparse.BooleanOptionalAction, default=None,
        help="build the peer environment .venv-bench when missing or stale (default: in full runs only)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BY_NAME))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    args.selected = [BY_NAME[name] for name in names] if names else list(BENCHMARKS)
    args.explicit = bool(names)
    args.out = args.out or ROOT / "var" / "bench" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return args


def run_family(benchmark: Benchmark, *, quick: bool, out: Path, timeout: float) -> tuple[list[Figure], bool]:
    """The family's figures from a process of its own, and whether it completed; a failure or timeout becomes one row
    saying so, with its log."""
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    result_path = logs / f"{benchmark.name}.json"
    command = [sys.executable, "-m", "bench.family_run", benchmark.name, str(result_path)] + (["--quick"] if quick else [])
    with open(logs / f"{benchmark.name}.log", "w") as log:
        child = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            returncode = child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.terminate()  # the family stops what it started on SIGTERM (bench/family_run.py)
            try:
                child.wait(timeout=CLEANUP_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            reason = f"stopped after {timeout:g} s (see logs/{benchmark.name}.log)"
            return [not_measured(benchmark.name, benchmark.summary, reason=reason)], False
    if returncode != 0 or not result_path.exists():
        reason = f"failed with exit code {returncode} (see logs/{benchmark.name}.log)"
        return [not_measured(benchmark.name, benchmark.summary, reason=reason)], False
    return [Figure.from_dict(data) for data in json.loads(result_path.read_text())], True


def peers_ensure(selected: list[Benchmark], *, quick: bool, peers: bool | None) -> None:
    """Build the peer environment before the families that use it, when wanted and missing or stale. A failed build is
    reported and the run goes on: those rows then say the peer environment is not built."""
    wanted = peers if peers is not None else not quick
    if not (wanted and any(benchmark.peers for benchmark in selected)) or peer_python() is not None:
        return
    print(f"building the peer environment .venv-bench from {REQUIREMENTS.name} (a few minutes) ...", flush=True)
    started = time.perf_counter()
    try:
        peer_env_build()
    except subprocess.CalledProcessError as error:
        print(f"  the peer environment could not be built ({error}); peer rows will say so", file=sys.stderr, flush=True)
        return
    print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)


def print_table(figures: list[Figure]) -> None:
    for row in table_rows(figures):
        print("  " + " | ".join(row))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    header = machine_header(ROOT)
    started = time.perf_counter()
    figures: list[Figure] = []
    broken: list[str] = []
    peers_ensure(args.selected, quick=args.quick, peers=args.peers)
    for benchmark in args.selected:
        if args.quick and not benchmark.in_quick and not args.explicit:
            figures.append(not_measured(benchmark.name, benchmark.summary, reason=f"full mode only: {benchmark.quick_skip_reason}"))
            continue
        family_started = time.perf_counter()
        print(f"{benchmark.name}: {benchmark.summary} ...", flush=True)
        timeout = args.family_timeout or (300.0 if args.quick else benchmark.timeout_seconds)
        measured, completed = run_family(benchmark, quick=args.quick, out=args.out, timeout=timeout)
        figures += measured
        if not completed:
            broken.append(benchmark.name)
        print_table(measured)
        print(f"  ({time.perf_counter() - family_started:.0f} s, load average {os.getloadavg()[0]:.2f})", flush=True)
        header.update(load_average_after=load_average(), wall_seconds=time.perf_counter() - started)
        write_results(args.out, header, figures, mode=mode, plots=[])
    header.update(load_average_after=load_average(), wall_seconds=time.perf_counter() - started)
    plots = write_plots(args.out, figures)
    write_results(args.out, header, figures, mode=mode, plots=plots)
    failed = [figure.name for figure in figures if figure.passed is False]
    print(f"\n{len(figures)} figures, {len(failed)} below target; results in {args.out}")
    if broken:
        print(f"did not complete: {', '.join(broken)} (see {args.out / 'logs'})", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
