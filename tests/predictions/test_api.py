"""POST /api/v1/predict and feedback through Django's test client, with the real network."""

import io

import pytest
from django.contrib.auth.models import User
from PIL import Image

from predictions.models import Prediction
from tests.images import encode, png_to_jpeg

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, name: str = "meal.jpg", content_type: str = "image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/v1/predict", {"image": SimpleUploadedFile(name, data, content_type=content_type)})


def stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def test_it_recognises_an_espresso_with_nutrition(client, catalogue, coffee_png):
    response = upload(client, png_to_jpeg(coffee_png))

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "success"
    prediction = body["prediction"]
    assert prediction["food"] == {"key": "espresso", "name": "Espresso"}
    assert prediction["no_food"] is False
    assert prediction["confidence"] > 0.8
    assert len(prediction["top_k"]) == 5
    assert prediction["top_k"][0]["food"] == "espresso"
    assert prediction["nutrition"]["energy_kcal"] == 9.0
    assert prediction["nutrition"]["fdc_id"] == 171891
    assert prediction["model"]["name"] == "food-classifier"
    assert len(prediction["model"]["sha256"]) == 64
    assert 0 < prediction["processing_time_seconds"] < 30


def test_it_stores_the_prediction_row(client, catalogue, coffee_png, media_root):
    response = upload(client, coffee_png, name="coffee.png", content_type="image/png")

    row = Prediction.objects.get(pk=response.json()["prediction"]["id"])
    assert row.status == "ok"
    assert row.food.key == "espresso"
    assert row.image_format == "PNG"
    assert (row.image_width, row.image_height) == (600, 400)
    assert len(row.image_sha256) == 64
    assert row.model_sha256 == response.json()["prediction"]["model"]["sha256"]
    assert len(bytes(row.embedding)) == 64 * 4
    assert row.mirrored_at is None
    assert len(stored_files(media_root)) == 1


def test_a_cat_is_no_food(client, catalogue, cat_png):
    prediction = upload(client, cat_png, "cat.png", "image/png").json()["prediction"]

    assert prediction["no_food"] is True
    assert prediction["food"] is None
    assert prediction["nutrition"] is None
    assert len(prediction["top_k"]) == 5


def test_an_astronaut_is_no_food(client, catalogue, astronaut_png):
    assert upload(client, astronaut_png, "a.png", "image/png").json()["prediction"]["no_food"] is True


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 400, "empty_file"),
        (b"this is plain text pretending to be a jpeg" * 10, 400, "not_an_image"),
        (encode(Image.new("RGB", (64, 64), "red"), "GIF"), 415, "unsupported_format"),
        (encode(Image.new("RGB", (4000, 100), "red"), "PNG"), 400, "bad_dimensions"),
        (encode(Image.new("1", (8000, 6000)), "PNG"), 413, "too_many_pixels"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_nothing_is_stored(client, catalogue, media_root, data, status, code):
    response = upload(client, data)

    assert response.status_code == status
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == code
    assert len(body["error"]["message"]) > 20
    assert stored_files(media_root) == []
    refusal = Prediction.objects.get()
    assert (refusal.status, refusal.status_code, refusal.reason_code) == ("rejected", status, code)
    assert not refusal.image and refusal.food is None


def test_a_truncated_jpeg_is_rejected(client, catalogue, coffee_png, media_root):
    data = png_to_jpeg(coffee_png)

    response = upload(client, data[: len(data) // 2])

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "corrupt_image"
    assert stored_files(media_root) == []


def test_a_file_over_the_limit_is_413(client, catalogue, coffee_png, settings):
    settings.NUTRILEARN_MAX_UPLOAD_BYTES = 50_000

    response = upload(client, coffee_png, "coffee.png", "image/png")

    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]


def test_several_files_in_one_request_are_refused(client, catalogue, coffee_png, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile(f"m{i}.png", coffee_png, content_type="image/png") for i in range(3)]
    response = client.post("/api/v1/predict", {"image": files})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_files"
    assert stored_files(media_root) == []


def test_a_request_without_a_file_is_refused(client, catalogue):
    response = client.post("/api/v1/predict", {})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_file"


def test_stored_photo_has_no_gps(client, catalogue, coffee_png, media_root):
    exif = Image.Exif()
    exif[0x8825] = {2: (51.0, 30.0, 0.0), 1: "N"}
    data = encode(Image.open(io.BytesIO(coffee_png)).convert("RGB"), "JPEG", exif=exif)

    upload(client, data)

    (stored,) = stored_files(media_root)
    assert len(Image.open(stored).getexif()) == 0


def test_owner_gives_feedback_and_can_change_it(client, catalogue, coffee_png):
    prediction_id = upload(client, png_to_jpeg(coffee_png)).json()["prediction"]["id"]

    confirmed = client.post(f"/api/v1/predictions/{prediction_id}/feedback", {"correct": True}, content_type="application/json")
    corrected = client.post(
        f"/api/v1/predictions/{prediction_id}/feedback", {"correct": False, "food": "cup"}, content_type="application/json"
    )

    assert confirmed.json()["prediction"]["feedback"]["correct"] is True
    assert corrected.status_code == 200
    row = Prediction.objects.get(pk=prediction_id)
    assert (row.feedback_correct, row.feedback_food.key) == (False, "cup")
    assert row.true_food_key == "cup"


def test_feedback_can_name_a_food_the_catalogue_lacks(client, catalogue, cat_png):
    prediction_id = upload(client, cat_png, "cat.png", "image/png").json()["prediction"]["id"]

    response = client.post(
        f"/api/v1/predictions/{prediction_id}/feedback", {"correct": False, "food_text": "Cat food"}, content_type="application/json"
    )

    assert response.json()["prediction"]["feedback"]["food_text"] == "Cat food"


def test_invalid_feedback_is_a_400_with_a_reason(client, catalogue, coffee_png):
    prediction_id = upload(client, png_to_jpeg(coffee_png)).json()["prediction"]["id"]

    unknown = client.post(
        f"/api/v1/predictions/{prediction_id}/feedback", {"correct": False, "food": "unicorn"}, content_type="application/json"
    )
    empty = client.post(f"/api/v1/predictions/{prediction_id}/feedback", {"correct": False}, content_type="application/json")
    malformed = client.post(f"/api/v1/predictions/{prediction_id}/feedback", "{nope", content_type="application/json")

    assert unknown.status_code == 400 and "unicorn" in unknown.json()["error"]["message"]
    assert empty.status_code == 400 and "right food" in empty.json()["error"]["message"]
    assert malformed.status_code == 400 and malformed.json()["status"] == "error"


def test_others_cannot_see_or_change_your_prediction(client, catalogue, coffee_png):
    from django.test import Client

    prediction_id = upload(client, png_to_jpeg(coffee_png)).json()["prediction"]["id"]
    stranger = Client()
    User.objects.create_user("mallory", password="pw-mallory-123")
    logged_in_stranger = Client()
    logged_in_stranger.force_login(User.objects.get(username="mallory"))

    for other in (stranger, logged_in_stranger):
        assert other.get(f"/api/v1/predictions/{prediction_id}").status_code == 404
        response = other.post(f"/api/v1/predictions/{prediction_id}/feedback", {"correct": True}, content_type="application/json")
        assert response.status_code == 404
    assert Prediction.objects.get(pk=prediction_id).feedback_at is None


def test_a_logged_in_users_predictions_belong_to_the_account(client, catalogue, coffee_png):
    user = User.objects.create_user("alice", password="pw-alice-123")
    client.force_login(user)

    prediction_id = upload(client, png_to_jpeg(coffee_png)).json()["prediction"]["id"]

    assert Prediction.objects.get(pk=prediction_id).user == user


def test_the_openapi_schema_documents_predict(client):
    response = client.get("/api/v1/schema", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/predict" in schema["paths"]
    assert "201" in schema["paths"]["/api/v1/predict"]["post"]["responses"]


def test_the_schema_documents_the_foods_envelope_and_the_refusals_of_predict(client):
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    foods = schema["paths"]["/api/v1/foods"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    predict = schema["paths"]["/api/v1/predict"]["post"]["responses"]
    assert schema["components"]["schemas"][foods["$ref"].rsplit("/", 1)[1]]["properties"].keys() == {"status", "foods"}
    assert "bad_dimensions" in predict["400"]["description"] and "32" in predict["400"]["description"]
    assert "unsupported_format" in predict["415"]["description"] and "GIF" in predict["415"]["description"]
    assert {"400", "401", "403", "411", "413", "415", "503"} <= predict.keys()


def test_foods_answers_the_catalogue_in_its_envelope(client, catalogue):
    body = client.get("/api/v1/foods").json()

    assert body["status"] == "success"
    assert {"key": "espresso", "name": "Espresso"}.items() <= body["foods"][[f["key"] for f in body["foods"]].index("espresso")].items()
