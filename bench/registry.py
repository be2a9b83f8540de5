"""The benchmark families: one module per family under ``bench/families``, each with ``run(*, quick: bool) -> list[Figure]``.

Adding a family is one module and one line here. ``in_quick`` False: ``--quick`` leaves it out (with a row saying so)
unless ``--only`` names it. ``peers`` True: its peer runs in the peer environment (bench/peer_env.py), which the suite
builds before it when missing, in full runs or with ``--peers``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Benchmark:
    name: str
    module: str
    summary: str
    in_quick: bool = True
    quick_skip_reason: str = ""
    timeout_seconds: float = 1500  # of the full run (--quick: 300 s); a stopped family becomes a row saying so
    peers: bool = False


BENCHMARKS = (
    Benchmark("predict", "bench.families.predict", "predict latency of a 1024x768 and a 12 MP JPEG against the bare forward pass"),
    Benchmark(
        "throughput",
        "bench.families.throughput",
        "HTTP predict throughput on the production stack against bare forward passes",
        in_quick=False,
        quick_skip_reason="starting the production stack (PostgreSQL, MLflow server, gunicorn, Celery) takes minutes",
    ),
    Benchmark("shadow", "bench.families.shadow", "upload latency with shadow mode on against off"),
    Benchmark("mirror", "bench.families.mirror", "mirroring throughput into MLflow and mirror lag at the maximum predict rate"),
    Benchmark(
        "monitoring_sqlite", "bench.families.monitoring_sqlite", "monitoring endpoints, ops pages, drift report on SQLite", peers=True
    ),
    Benchmark(
        "monitoring_postgresql",
        "bench.families.monitoring_postgresql",
        "monitoring endpoints, ops pages, drift report on PostgreSQL",
        peers=True,
    ),
    Benchmark("memory", "bench.families.memory", "web worker memory with the model loaded against bare torch + one model"),
    Benchmark(
        "training",
        "bench.families.training",
        "training on generated photos against a linear probe on the same cached features",
        in_quick=False,
        quick_skip_reason="even on 200 photos a run takes over a minute (caching workers, model loads)",
        timeout_seconds=2700,
    ),
)

BY_NAME = {benchmark.name: benchmark for benchmark in BENCHMARKS}
