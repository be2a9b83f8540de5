"""A database that cannot take writes: uploads answer a clear 503 and leave no file and no row behind."""

import contextlib
import sqlite3

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from predictions.models import Prediction
from tests.images import png_to_jpeg


@contextlib.contextmanager
def writes_blocked():
    """Another client holds the database's write lock; this process gives up waiting after a fraction of a second."""
    options = dict(connection.settings_dict.get("OPTIONS", {}))
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["OPTIONS"] = {**options, "timeout": 0.3}
        holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        connection.settings_dict["OPTIONS"] = {**options, "options": "-c lock_timeout=300"}
        params = connection.get_connection_params()
        holder = psycopg.connect(**{key: value for key, value in params.items() if key in ("dbname", "user", "password", "host", "port")})
        holder.execute("LOCK TABLE django_session, predictions_prediction IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()
        connection.close()
        connection.settings_dict["OPTIONS"] = options


def stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


@pytest.fixture
def browser_client():
    return Client(raise_request_exception=False)


@pytest.fixture
def espresso(coffee_png) -> bytes:
    return png_to_jpeg(coffee_png)


def photo(data: bytes):
    return SimpleUploadedFile("meal.jpg", data, content_type="image/jpeg")


def test_an_api_upload_while_the_database_is_unavailable_is_a_json_503_and_leaves_no_file_without_a_row(
    transactional_db, browser_client, catalogue, espresso, media_root
):
    assert browser_client.post("/api/v1/predict", {"image": photo(espresso)}).status_code == 201  # the session exists
    with writes_blocked():
        response = browser_client.post("/api/v1/predict", {"image": photo(espresso)})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
    assert "try again" in response.json()["error"]["message"]
    assert response["Retry-After"] == "30"
    assert Prediction.objects.count() == 1
    assert len(stored_files(media_root)) == 1


def test_the_upload_form_while_the_database_is_unavailable_shows_a_page_and_nothing_is_kept(
    transactional_db, browser_client, catalogue, espresso, media_root
):
    with writes_blocked():
        response = browser_client.post("/", {"image": photo(espresso)})

    assert response.status_code == 503
    assert "Not available right now" in response.content.decode()
    assert Prediction.objects.count() == 0
    assert stored_files(media_root) == []


def test_uploads_work_again_once_the_database_is_back(transactional_db, browser_client, catalogue, espresso, media_root):
    with writes_blocked():
        browser_client.post("/api/v1/predict", {"image": photo(espresso)})

    response = browser_client.post("/api/v1/predict", {"image": photo(espresso)})

    assert response.status_code == 201
    assert Prediction.objects.count() == 1
    assert len(stored_files(media_root)) == 1
