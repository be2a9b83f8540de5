"""Who may do what: upload throttling, failed-login lockout, photos for their owner and staff only, answers without internals."""


import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from predictions import serving
from predictions.inference import FoodClassifier, imagenet_manifest
from predictions.models import Prediction
from predictions.throttling import cache_breaker
from tests.images import png_to_jpeg
from tests.mlops.mirror_support import TcpServer
from tests.support.network import unused_port

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, path: str = "/api/v1/predict", field: str = "image"):
    return client.post(path, {field: SimpleUploadedFile("meal.jpg", data, content_type="image/jpeg")})


@pytest.fixture
def espresso(coffee_png) -> bytes:
    return png_to_jpeg(coffee_png)


# Throttling.


def test_an_anonymous_client_over_the_upload_rate_gets_429_with_retry_after_and_nothing_is_stored(client, settings, catalogue, espresso):
    settings.NUTRILEARN_PREDICT_RATE = "2/minute"

    statuses = [upload(client, espresso).status_code for _ in range(3)]
    refused = upload(client, espresso)

    assert statuses == [201, 201, 429]
    assert refused.json()["status"] == "error"
    assert refused.json()["error"]["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert Prediction.objects.count() == 2


def test_a_logged_in_user_has_an_upload_budget_of_their_own(client, settings, catalogue, espresso):
    settings.NUTRILEARN_PREDICT_RATE = "1/minute"
    account = Client()
    account.force_login(User.objects.create_user("alice", password="pw-alice-123456"))

    assert upload(client, espresso).status_code == 201
    assert upload(client, espresso).status_code == 429
    assert upload(account, espresso).status_code == 201
    assert upload(account, espresso).status_code == 429


def test_the_upload_form_is_throttled_with_a_page_that_says_when_to_try_again(client, settings, catalogue, espresso):
    settings.NUTRILEARN_PREDICT_RATE = "1/minute"

    first = upload(client, espresso, path="/")
    second = upload(client, espresso, path="/")

    assert first.status_code == 302
    assert second.status_code == 429
    assert "Please wait" in second.content.decode()
    assert int(second["Retry-After"]) > 0
    assert Prediction.objects.count() == 1


def redis_cache_at(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def test_uploads_go_through_when_the_throttle_cache_is_down(client, settings, catalogue, espresso, caplog):
    settings.NUTRILEARN_PREDICT_RATE = "1/minute"
    settings.CACHES = redis_cache_at(f"redis://127.0.0.1:{unused_port()}/0")
    cache_breaker.reset()

    statuses = [upload(client, espresso).status_code for _ in range(2)]
    cache_breaker.reset()

    assert statuses == [201, 201]
    assert "upload throttling skipped for 30 s" in caplog.text


def test_a_cache_that_never_answers_holds_one_upload_and_the_next_ones_skip_it(client, settings, catalogue, espresso):
    settings.NUTRILEARN_PREDICT_RATE = "1/minute"
    cache_breaker.reset()
    with TcpServer() as silent_redis:  # accepts connections, never answers
        settings.CACHES = redis_cache_at(silent_redis.url)
        statuses = [upload(client, espresso).status_code for _ in range(3)]
        attempts = silent_redis.connections
    cache_breaker.reset()

    assert statuses == [201, 201, 201]
    assert attempts == 1  # only the first upload waited for the socket timeout


# Failed logins.


def test_five_wrong_passwords_lock_that_username_out_even_for_the_right_password(client):
    User.objects.create_user("bob", password="pw-bob-123456")
    statuses = [client.post("/accounts/login/", {"username": "bob", "password": "wrong"}).status_code for _ in range(5)]

    locked = client.post("/accounts/login/", {"username": "bob", "password": "pw-bob-123456"})

    assert statuses == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_right_password_after_a_few_mistakes_logs_in(client):
    User.objects.create_user("carol", password="pw-carol-123456")
    for _ in range(3):
        client.post("/accounts/login/", {"username": "carol", "password": "wrong"})

    response = client.post("/accounts/login/", {"username": "carol", "password": "pw-carol-123456"})

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


# Photos.


def test_a_photo_is_served_to_its_owner_as_jpeg_that_browsers_may_not_sniff(client, catalogue, espresso):
    url = upload(client, espresso).json()["prediction"]["image"]["url"]

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"


def test_a_photo_is_hidden_from_other_visitors_and_users_but_not_from_staff(client, catalogue, espresso):
    url = upload(client, espresso).json()["prediction"]["image"]["url"]
    other_user = Client()
    other_user.force_login(User.objects.create_user("mallory", password="pw-mallory-123"))
    staff = Client()
    staff.force_login(User.objects.create_user("ops", password="pw-ops-1234567", is_staff=True))

    assert Client().get(url).status_code == 404
    assert other_user.get(url).status_code == 404
    assert staff.get(url).status_code == 200


def test_paths_outside_the_stored_photos_are_not_found(client, settings, tmp_path):
    (settings.MEDIA_ROOT).mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "secret.txt").write_text("not a photo")

    assert client.get("/media/secret.txt").status_code == 404
    assert client.get("/media/../nutrilearn/settings.py").status_code == 404


def test_behind_a_web_server_the_photo_bytes_are_handed_over_with_x_accel_redirect(client, settings, catalogue, espresso):
    settings.NUTRILEARN_MEDIA_ACCEL_REDIRECT = "/protected-media/"
    prediction = upload(client, espresso).json()["prediction"]

    response = client.get(prediction["image"]["url"])

    assert response.status_code == 200
    assert response.content == b""
    assert response["X-Accel-Redirect"] == "/protected-media/" + Prediction.objects.get().image.name
    assert response["Content-Type"] == "image/jpeg"


# Answers without internals.


@pytest.fixture
def broken_model(monkeypatch, tmp_path):
    """A process whose model weights file is missing: nothing can serve."""
    missing = tmp_path / "secret-folder" / "weights.pt"

    def load():
        FoodClassifier.load(imagenet_manifest(""), missing)

    monkeypatch.setattr(serving.holder, "_loader", load)
    monkeypatch.setattr(serving.holder, "_model", None)  # restored after the test, like the loader
    return missing


def test_readiness_and_the_predict_api_say_what_failed_without_internal_error_text(client, catalogue, espresso, broken_model):
    ready = client.get("/readyz")
    predicted = upload(client, espresso)

    assert ready.status_code == 503
    assert ready.json()["checks"]["model"]["detail"] == "no model can serve"
    assert predicted.status_code == 503
    assert predicted.json()["error"]["code"] == "model_unavailable"
    for body in (ready.content.decode(), predicted.content.decode()):
        assert "secret-folder" not in body
        assert "weights" not in body
