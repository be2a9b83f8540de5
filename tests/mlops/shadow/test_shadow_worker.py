"""Shadow mode end to end: real uploads, a real Redis, a real Celery worker process on the "shadow" queue, a real registry."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mlops.shadow.models import ShadowPrediction
from tests.mlops.processes import start_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(240)]

# The worker runs the project settings: the test settings pin the bundled model, and shadow mode needs the registry.
PROJECT_SETTINGS = {
    "DJANGO_SETTINGS_MODULE": "nutrilearn.settings",
    "DJANGO_SECRET_KEY": "test-only-secret-key-0123456789abcdefghijklmnop",
    "NUTRILEARN_MODEL_SOURCE": "registry",
    "NUTRILEARN_TORCH_THREADS": "1",
}


def test_a_worker_on_the_shadow_queue_answers_each_upload_beside_the_champion(
    transactional_db, champion_and_challenger, broker, mlflow_sqlite_uri, workers, tmp_path, settings, client, catalogue, coffee_png
):
    settings.NUTRILEARN_SHADOW_ENABLED = True
    # The worker reads the stored photos: the same media folder as this (web) process.
    media = {"DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    workers.append(start_worker(tmp_path, broker, mlflow_sqlite_uri, queues="shadow", **PROJECT_SETTINGS, **media))

    ids = []
    for _ in range(3):
        response = client.post("/api/v1/predict", {"image": SimpleUploadedFile("meal.png", coffee_png, content_type="image/png")})
        assert response.status_code == 201, response.content
        ids.append(response.json()["prediction"]["id"])
    wait_for(lambda: ShadowPrediction.objects.count() == 3, timeout=120, what="three shadow answers")

    answers = ShadowPrediction.objects.order_by("prediction_id")
    assert [answer.prediction_id for answer in answers] == ids
    assert {(answer.model_version, answer.food.key, answer.agrees) for answer in answers} == {("2", "espresso", True)}
