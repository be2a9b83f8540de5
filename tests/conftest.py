import shutil
from pathlib import Path

import pytest
import skimage

SKIMAGE_DATA = Path(skimage.__file__).parent / "data"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty cache (upload throttling counts live there)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory) -> Path:
    """An empty MLflow SQLite database with its tables created once (creating them takes seconds)."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}", registry_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def mlflow_sqlite_uri(tmp_path, mlflow_template) -> str:
    """A fresh MLflow SQLite store of this test's own, copied from the template."""
    path = tmp_path / "mlflow.db"
    shutil.copyfile(mlflow_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def mlflow_client(settings, tmp_path, mlflow_sqlite_uri):
    """The app pointed at a fresh MLflow store of this test's own (tracking and registry); yields a client of it."""
    from tests.support.mlflow import mlflow_store_at

    settings.NUTRILEARN_MODEL_CACHE_DIR = tmp_path / "model-cache"
    with mlflow_store_at(settings, mlflow_sqlite_uri, tmp_path / "artifacts") as client:
        yield client


@pytest.fixture
def catalogue(db):
    from predictions.services import food_catalogue_load

    food_catalogue_load()


@pytest.fixture(scope="session")
def coffee_png() -> bytes:
    return (SKIMAGE_DATA / "coffee.png").read_bytes()


@pytest.fixture(scope="session")
def cat_png() -> bytes:
    return (SKIMAGE_DATA / "chelsea.png").read_bytes()


@pytest.fixture(scope="session")
def moon_png() -> bytes:
    """A real photo the bundled network is unsure about: food mass 0.15, "Consommé" at 30 % (low band)."""
    return (SKIMAGE_DATA / "moon.png").read_bytes()


@pytest.fixture(scope="session")
def astronaut_png() -> bytes:
    return (SKIMAGE_DATA / "astronaut.png").read_bytes()


def pytest_sessionfinish(session):
    """Remove the WAL side files of the file-based SQLite test database (Django deletes only the database file)."""
    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        for suffix in ("-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)


# Fixtures through which a test reaches the database (pytest-django refuses database access to any other test).
DATABASE_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"})


def pytest_addoption(parser):
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="run only the tests that reach the database (bin/test's second pass, on PostgreSQL)",
    )


def reaches_the_database(item) -> bool:
    return item.get_closest_marker("django_db") is not None or not DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(config, items):
    """With --database-tests-only, leave out the tests that never reach the database: the first pass ran them."""
    if not config.getoption("--database-tests-only"):
        return
    kept, left = [], []
    for item in items:
        (kept if reaches_the_database(item) else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
