"""Portable SQL expressions shared by the selectors and the rollups (a leaf: imports only the pure ``mlops.percentiles``)."""

from __future__ import annotations

import math

from django.db.models import CharField, Func, IntegerField, Value

from .percentiles import LATENCY_BIN_COUNT, LATENCY_BIN_LOW_SECONDS, LATENCY_BIN_RATIO


class Day(Func):
    """The UTC calendar day of a datetime as 'YYYY-MM-DD', computed natively by each database (no Python callbacks)."""

    output_field = CharField()
    template = "CAST(CAST(%(expressions)s AS DATE) AS VARCHAR(10))"

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite stores aware datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 10)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(CAST((%(expressions)s AT TIME ZONE 'UTC') AS DATE) AS TEXT)", **extra)


class Hour(Func):
    """The UTC hour (0-23) of a datetime, computed natively by each database."""

    output_field = IntegerField()
    template = "CAST(EXTRACT(HOUR FROM %(expressions)s) AS INTEGER)"

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite stores aware datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        return self.as_sql(compiler, connection, template="CAST(substr(%(expressions)s, 12, 2) AS INTEGER)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="CAST(EXTRACT(HOUR FROM (%(expressions)s AT TIME ZONE 'UTC')) AS INTEGER)", **extra
        )


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


class LatencyBin(Func):
    """The latency histogram bin of a duration in seconds, as ``mlops.percentiles.latency_bin`` computes it (NULL stays NULL)."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):
        # Constants inlined: the bin of a value must not depend on how a driver binds floats. LN of a value below
        # LOW is never taken (PostgreSQL refuses the logarithm of zero). SQLite's CAST truncates (floor: the
        # quotient is positive) where PostgreSQL's rounds, hence FLOOR there.
        value, params = compiler.compile(self.source_expressions[0])
        low, log_low, log_ratio = repr(LATENCY_BIN_LOW_SECONDS), repr(math.log(LATENCY_BIN_LOW_SECONDS)), repr(math.log(LATENCY_BIN_RATIO))
        position = f"((LN({value}) - ({log_low})) / {log_ratio})"
        if connection.vendor == "sqlite":
            index = f"MIN(CAST({position} AS INTEGER), {LATENCY_BIN_COUNT - 1})"
        else:
            index = f"LEAST(CAST(FLOOR({position}) AS INTEGER), {LATENCY_BIN_COUNT - 1})"
        sql = f"CASE WHEN {value} IS NULL THEN NULL WHEN {value} < {low} THEN 0 ELSE {index} END"
        return sql, tuple(params) * 3  # the value appears three times
