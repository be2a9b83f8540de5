"""Portable SQL expressions shared by the selectors and the rollups (a leaf: imports nothing of the project)."""

from __future__ import annotations

from django.db.models import CharField, Func, IntegerField, Value


class Day(Func):
    """The UTC calendar day of a datetime as 'YYYY-MM-DD', computed natively by each database (no Python callbacks)."""

    output_field = CharField()
    template = "CAST(CAST(%(expressions)s AS DATE) AS VARCHAR(10))"

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite stores aware datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 10)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(CAST((%(expressions)s AT TIME ZONE 'UTC') AS DATE) AS TEXT)", **extra)


class ConfidenceBin(Func):
    """Equal-width bin index of a confidence in [0, 1] (1.0 lands in an extra bin, folded into the last by the caller)."""

    output_field = IntegerField()

    def __init__(self, expression, *, bins: int):
        super().__init__(expression, Value(bins))

    def as_sql(self, compiler, connection, **extra):
        # Confidences are non-negative, so truncation is floor on every backend.
        return super().as_sql(compiler, connection, template="CAST(FLOOR(%(expressions)s) AS INTEGER)", arg_joiner=" * ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="CAST(%(expressions)s AS INTEGER)", arg_joiner=" * ", **extra)
