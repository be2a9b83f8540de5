"""Fixtures of the MLOps page tests."""

import pytest
from django.core.cache import cache

from tests.support.mlflow import mlflow_store_at
from tests.support.ops_data import ops_data_make, shifted_photos_make


@pytest.fixture(autouse=True)
def fresh_cache():
    """The pages cache per-period and per-report figures; each test starts without them."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def own_mlflow_store(settings, tmp_path, mlflow_sqlite_uri):
    """The Models and prediction pages read the registry: a throwaway store, never the project's var/."""
    with mlflow_store_at(settings, mlflow_sqlite_uri, tmp_path / "artifacts"):
        yield


@pytest.fixture
def shifted_photos(db):
    return shifted_photos_make()


@pytest.fixture
def filled(db):
    return ops_data_make()
