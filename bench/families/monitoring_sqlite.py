"""Monitoring at scale on SQLite (a throwaway file)."""

from __future__ import annotations

from bench.families.monitoring import run_on
from bench.figures import Figure


def run(*, quick: bool) -> list[Figure]:
    """Every endpoint and page at three table sizes on a SQLite file in a temporary folder."""
    return run_on(database="sqlite", database_url=None, quick=quick)
