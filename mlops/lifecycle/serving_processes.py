"""Which version each serving process serves: heartbeat rows written by the alias watcher, read by the Models page and the API.

A leaf over ``mlops.models`` (no MLflow, no services) so that ``predictions.serving`` can write
heartbeats. Every interval a process upserts its row (hostname, pid, alias) and deletes rows
nobody has written for PRUNE_AFTER_INTERVALS intervals (processes that are gone).
"""

from __future__ import annotations

import os
import socket
import sys
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from ..models import ModelEvent, ServingProcess

# A process whose champion row shows another version this many intervals after the alias moved is
# flagged; one whose row is this many intervals old is flagged as silent.
FLAG_AFTER_INTERVALS = 2
PRUNE_AFTER_INTERVALS = 10
CHAMPION = "champion"  # the alias (mlops.mlflow_store.registry.CHAMPION; not imported, to keep this module free of MLflow)


def process_role() -> str:
    """'celery' in a Celery worker (its command is ``celery ... worker``), else 'web': the command line tells them apart."""
    program = Path(sys.argv[0]).parts if sys.argv and sys.argv[0] else ()  # .../bin/celery, or .../celery/__main__.py with -m
    return ServingProcess.Role.CELERY if "celery" in program else ServingProcess.Role.WEB


def _interval() -> timedelta:
    return timedelta(seconds=settings.NUTRILEARN_MODEL_POLL_SECONDS)


def serving_process_heartbeat(
    *, alias: str, model_version: str, model_sha256: str, switched_at: datetime, check_error: str = ""
) -> ServingProcess:
    """Upsert this process's row for ``alias`` with the version it serves now, and prune rows of processes long gone.

    Idempotent; safe to call from any thread (one row per hostname, pid and alias).
    """
    now = timezone.now()
    row, _ = ServingProcess.objects.update_or_create(
        hostname=socket.gethostname()[:255],
        pid=os.getpid(),
        alias=alias,
        defaults={
            "role": process_role(),
            "model_version": model_version,
            "model_sha256": model_sha256,
            "switched_at": switched_at,
            "last_seen": now,
            "last_check_error": check_error[:2000],
        },
    )
    if _interval():
        ServingProcess.objects.filter(last_seen__lt=now - PRUNE_AFTER_INTERVALS * _interval()).delete()
    return row


def champion_moved_at() -> datetime | None:
    """When the champion alias last moved, from the model events every promotion and rollback records."""
    kinds = (ModelEvent.Kind.PROMOTED, ModelEvent.Kind.ROLLED_BACK)
    return ModelEvent.objects.filter(kind__in=kinds).order_by("-created_at").values_list("created_at", flat=True).first()


def serving_processes_list(*, champion: str | None, now: datetime | None = None) -> list[dict]:
    """Every process that wrote a heartbeat lately, with ``flag`` saying what is wrong ("" when nothing).

    "behind": it follows the champion alias but serves another version two intervals after the alias
    moved (its own refusal or registry error says why in ``last_check_error`` and the model events);
    "silent": no heartbeat for two intervals (stopped, or its watcher is stuck).
    """
    now = now or timezone.now()
    grace = FLAG_AFTER_INTERVALS * _interval()
    moved = champion_moved_at()
    settled = moved is None or now - moved > grace
    rows = []
    for process in ServingProcess.objects.order_by("role", "hostname", "pid", "alias"):
        behind = process.alias == CHAMPION and champion is not None and process.model_version != champion and settled
        silent = bool(grace) and now - process.last_seen > grace  # polling off: no heartbeat is expected
        flag = "silent" if silent else "behind" if behind else ""
        rows.append(
            {
                "hostname": process.hostname,
                "pid": process.pid,
                "role": process.role,
                "alias": process.alias,
                "model_version": process.model_version,
                "model_sha256": process.model_sha256,
                "started_at": process.started_at,
                "switched_at": process.switched_at,
                "last_seen": process.last_seen,
                "seconds_since_seen": round((now - process.last_seen).total_seconds(), 1),
                "last_check_error": process.last_check_error,
                "on_champion": process.alias != CHAMPION or champion is None or process.model_version == champion,
                "flag": flag,
            }
        )
    return rows
