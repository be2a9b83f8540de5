import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from predictions.models import Prediction

from .factories import food_make, predictions_make

pytestmark = pytest.mark.django_db

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_metrics_expose_request_latency_after_a_request(client):
    client.get("/healthz")

    text = scrape(client)

    assert 'nutrilearn_http_request_duration_seconds_bucket{le="0.005",method="GET",route="healthz",status="2xx"}' in text


def test_a_new_prediction_is_counted_by_food_and_model_version_with_its_confidence(client):
    Prediction.objects.create(food=food_make("sushi"), confidence=0.93, model_version="7", model_name="food-classifier")

    text = scrape(client)

    assert 'nutrilearn_predictions_total{food="sushi",model_version="7",status="ok"}' in text
    assert 'nutrilearn_prediction_confidence_bucket{le="0.95",model_version="7"}' in text


def test_the_mirror_backlog_gauge_reads_the_database(client):
    predictions_make(4, mirrored=False)

    text = scrape(client)

    assert "nutrilearn_mirror_backlog_predictions 4.0" in text
    assert "nutrilearn_mirror_backlog_oldest_age_seconds" in text


WORKER = """
from mlops.prometheus import PREDICTIONS
PREDICTIONS.labels(status="ok", food="pizza", model_version="1").inc(3)
"""


def test_in_multiprocess_mode_metrics_serves_every_workers_samples_and_the_backlog_from_the_database(client, tmp_path, monkeypatch):
    # What gunicorn's workers write (each its own process) is what any one of them answers on /metrics.
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", WORKER], check=True, env=env, cwd=PROJECT_ROOT)
    predictions_make(2, mirrored=False)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    text = scrape(client)

    assert 'nutrilearn_predictions_total{food="pizza",model_version="1",status="ok"} 6.0' in text
    assert "nutrilearn_mirror_backlog_predictions 2.0" in text


def gunicorn_settings(monkeypatch, folder: Path) -> dict:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    monkeypatch.setenv("GUNICORN_WORKERS", "2")
    return runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))


def test_gunicorn_starts_from_an_empty_metrics_folder_and_forgets_the_live_gauges_of_a_worker_that_ended(monkeypatch, tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_111.db").write_bytes(b"an earlier run")
    hooks = gunicorn_settings(monkeypatch, folder)

    hooks["on_starting"](server=None)
    (folder / "gauge_livesum_222.db").write_bytes(b"")
    (folder / "counter_222.db").write_bytes(b"")
    hooks["child_exit"](server=None, worker=SimpleNamespace(pid=222))

    assert sorted(path.name for path in folder.iterdir()) == ["counter_222.db"]
    assert (hooks["preload_app"], hooks["workers"]) == (False, 2)


def test_a_scraper_from_another_address_without_the_token_is_refused(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"nutrilearn_" not in response.content


def test_a_scraper_with_the_bearer_token_may_read_from_anywhere(client, settings):
    settings.NUTRILEARN_METRICS_TOKEN = "scrape-secret-0123456789"

    allowed = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789")
    wrong = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer guessed")

    assert allowed.status_code == 200
    assert b"nutrilearn_" in allowed.content
    assert wrong.status_code == 401
