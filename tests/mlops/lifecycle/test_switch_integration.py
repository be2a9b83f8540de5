"""Two real web processes following the registry switch to a promoted version without a restart, seen through their heartbeats."""

import urllib.request

import pytest
from django.db import connection

from mlops.lifecycle.promotion import model_version_promote
from mlops.models import ServingProcess
from tests.mlops.processes import WebServer, database_url, wait_for, worker_environment
from tests.support.promotion import versions_register

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def web_servers(tmp_path):
    started: list[WebServer] = []
    yield started
    for server in started:
        server.stop()


def served_versions() -> dict[int, str]:
    return dict(ServingProcess.objects.filter(alias="champion").values_list("pid", "model_version"))


def test_two_serving_processes_switch_to_the_promoted_version_without_a_restart(
    transactional_db, mlflow_client, mlflow_sqlite_uri, tmp_path, nudged_state_dict, web_servers
):
    versions_register(tmp_path, nudged_state_dict)
    env = worker_environment(
        database=database_url(connection.settings_dict), broker_url="memory://", tracking_uri=mlflow_sqlite_uri,
        artifacts=tmp_path / "artifacts", var_dir=tmp_path / "var",
        # the project settings (the test settings pin the bundled model), following the registry every second
        DJANGO_SETTINGS_MODULE="nutrilearn.settings", DJANGO_DEBUG="1", DJANGO_SECRET_KEY="switch-test-" + "x" * 40,
        NUTRILEARN_MODEL_SOURCE="registry", NUTRILEARN_MODEL_POLL_SECONDS="1",
    )  # fmt: skip
    for _ in range(2):
        web_servers.append(WebServer(tmp_path, env, kind="runserver").start())
    for server in web_servers:
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=120) as response:  # loads the champion, starts the watcher
            assert response.status == 200
    pids = {server.popen.pid for server in web_servers}
    wait_for(lambda: served_versions() == dict.fromkeys(pids, "1"), timeout=60, interval=0.5, what="both processes reporting version 1")

    model_version_promote(version="2", actor=None, reason="integration test", override=True)

    wait_for(lambda: served_versions() == dict.fromkeys(pids, "2"), timeout=60, interval=0.5, what="both processes reporting version 2")
    assert all(server.running for server in web_servers)
    rows = ServingProcess.objects.filter(pid__in=pids)
    assert all(row.switched_at > row.started_at for row in rows)
