"""Monitoring at scale on PostgreSQL: the database named by ``BENCH_POSTGRES_URL`` (emptied first, created when missing).

Default ``postgres://postgres:postgres@127.0.0.1:5432/nutrilearn_bench``; when the server does not answer, one row says so.
"""

from __future__ import annotations

import os
import re

import psycopg

from bench.families.monitoring import run_on, unreachable
from bench.figures import Figure

DEFAULT_URL = "postgres://postgres:postgres@127.0.0.1:5432/nutrilearn_bench"


def database_ensure(url: str) -> None:
    """Create the benchmark's database on its server unless it exists."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(re.sub(r"/[^/]*$", "/postgres", url), autocommit=True, connect_timeout=5) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def run(*, quick: bool) -> list[Figure]:
    """Every endpoint and page at three table sizes on the benchmark's PostgreSQL database."""
    url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_URL)
    try:
        database_ensure(url)
    except psycopg.OperationalError as error:
        return unreachable("monitoring_postgresql", reason=f"PostgreSQL at {url.rsplit('@', 1)[-1]} did not answer ({error})")
    return run_on(database="postgresql", database_url=url, quick=quick)
