"""Heartbeats: the alias watcher reports the version its process serves; rows of processes long gone are pruned."""

import os
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from mlops.lifecycle.serving_processes import process_role, serving_process_heartbeat
from mlops.models import ServingProcess
from mlops.services import model_promote
from tests.support.promotion import versions_register

pytestmark = pytest.mark.django_db


def test_the_holder_reports_the_version_it_serves_and_when_it_switched(served_from_registry, versions):
    served_from_registry.get()
    served_from_registry._heartbeat()
    first = ServingProcess.objects.get(pid=os.getpid(), alias="champion")

    model_promote(version="2", check=False)
    assert served_from_registry.refresh() == "switched"
    served_from_registry._heartbeat()
    second = ServingProcess.objects.get(pid=os.getpid(), alias="champion")

    assert (first.model_version, second.model_version) == ("1", "2")
    assert second.switched_at > first.switched_at and second.last_seen >= second.switched_at
    assert second.model_sha256 == served_from_registry.loaded().sha256


def test_a_heartbeat_prunes_rows_not_seen_for_ten_intervals(db, settings):
    settings.NUTRILEARN_MODEL_POLL_SECONDS = 30
    long_ago = timezone.now() - timedelta(minutes=6)
    recent = timezone.now() - timedelta(minutes=4)
    for pid, seen in ((1, long_ago), (2, recent)):
        ServingProcess.objects.create(
            hostname="gone", pid=pid, role="web", alias="champion", model_version="1", switched_at=seen, last_seen=seen
        )

    serving_process_heartbeat(alias="champion", model_version="1", model_sha256="ab", switched_at=timezone.now())

    assert sorted(ServingProcess.objects.values_list("pid", flat=True)) == sorted([2, os.getpid()])


def test_celery_workers_are_told_apart_from_web_processes_by_their_command(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/srv/app/.venv/bin/celery", "-A", "nutrilearn", "worker"])
    assert process_role() == "celery"
    monkeypatch.setattr(sys, "argv", ["/srv/app/.venv/bin/gunicorn", "nutrilearn.wsgi"])
    assert process_role() == "web"


def test_a_process_that_refuses_the_new_champion_reports_why(
    served_from_registry, db, mlflow_client, tmp_path, nudged_state_dict, broken_state_dict
):
    versions_register(tmp_path, nudged_state_dict, also={"broken": broken_state_dict})
    served_from_registry.get()

    model_promote(version="3", check=False)
    assert served_from_registry.refresh() == "refused"
    served_from_registry._heartbeat()

    row = ServingProcess.objects.get(pid=os.getpid(), alias="champion")
    assert row.model_version == "1"
    assert row.last_check_error.startswith("version 3 refused:") and "non-finite" in row.last_check_error
