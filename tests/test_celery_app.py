"""The Celery app's embedded broker: polled several times a second, its folders made when a worker starts."""

import json
import os
import subprocess
import sys
from pathlib import Path

from nutrilearn.celery import broker_folders_ensure
from tests.mlops.mirror_support import celery_broker, filesystem_broker_options

ROOT = Path(__file__).resolve().parent.parent


def test_the_embedded_broker_is_polled_ten_times_a_second_and_importing_settings_creates_no_folder(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_", "REDIS_URL", "NUTRILEARN_"))}
    env.update(DJANGO_SETTINGS_MODULE="nutrilearn.settings", DJANGO_DEBUG="1", NUTRILEARN_VAR_DIR=str(tmp_path / "var"))
    # Settings and the Celery app only, as the test's name says: loading the apps too (PyTorch, MLflow) took 15-20 s
    # of a busy machine; the broker's folders are made by bootstrap, the worker and beat (test below), never by a setting.
    code = (
        "import json; from nutrilearn.celery import app; "
        "print(json.dumps({'url': app.conf.broker_url, 'polling': app.connection_for_write().transport.polling_interval}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert json.loads(result.stdout) == {"url": "filesystem://", "polling": 0.1}, result.stderr
    assert not (tmp_path / "var" / "broker").exists()


def test_the_embedded_broker_folders_are_created_when_the_worker_starts(tmp_path):
    with celery_broker("filesystem://", filesystem_broker_options(tmp_path / "var")):
        broker_folders_ensure()

    assert sorted(path.name for path in (tmp_path / "var" / "broker").iterdir()) == ["control", "processed", "queue"]
