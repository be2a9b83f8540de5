import subprocess
import sys

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from predictions.models import Prediction

from .factories import food_make, predictions_make

pytestmark = pytest.mark.django_db


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
import os
from mlops.prometheus import PREDICTIONS, REQUEST_LATENCY
PREDICTIONS.labels(status="ok", food="pizza", model_version="1").inc(3)
REQUEST_LATENCY.labels(method="GET", route="healthz", status="2xx").observe(0.01)
"""


def test_samples_of_several_worker_processes_are_merged_in_multiprocess_mode(tmp_path):
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", WORKER], check=True, env=env, cwd=str(_project_root()))

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    text = generate_latest(registry).decode()

    assert 'nutrilearn_predictions_total{food="pizza",model_version="1",status="ok"} 6.0' in text
    assert 'nutrilearn_http_request_duration_seconds_count{method="GET",route="healthz",status="2xx"} 2.0' in text


def _project_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]
