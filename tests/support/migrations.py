"""Running a data migration in a test: the schema of an earlier migration, rows written through its models, then forward."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@contextmanager
def migrated_back_to(app: str, migration: str) -> Iterator[Apps]:
    """Migrate the test database back to ``app``'s ``migration`` and yield its historical models; on leaving (whatever
    happened) migrate forward to the latest schema, which the tests after this one need. Use in a transactional test."""
    target = [(app, migration)]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(target)
    try:
        yield executor.loader.project_state(target).apps
    finally:
        MigrationExecutor(connection).migrate(latest)
