import pytest
from django.contrib.auth import get_user_model
from mlflow.tracking import MlflowClient

from mlops import tracking


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def member_client(client, db):
    user = get_user_model().objects.create_user("member", password="x")
    client.force_login(user)
    return client


@pytest.fixture
def mlflow_store(settings, tmp_path, mlflow_sqlite_uri):
    """A real, throwaway SQLite-backed MLflow store (tracking and registry) for this test."""
    uri = mlflow_sqlite_uri
    settings.MLFLOW_TRACKING_URI = uri
    settings.MLFLOW_ARTIFACT_ROOT = (tmp_path / "artifacts").as_uri()
    settings.NUTRILEARN_MODEL_CACHE_DIR = tmp_path / "model-cache"
    tracking.reset_client()
    yield MlflowClient(tracking_uri=uri, registry_uri=uri)
    tracking.reset_client()
