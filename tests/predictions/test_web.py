"""The upload form, result page, feedback form, history and admin through Django's test client."""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from predictions.models import Food, Prediction
from tests.images import png_to_jpeg

pytestmark = pytest.mark.django_db


def post_photo(client, data: bytes, name="meal.jpg"):
    return client.post("/", {"image": SimpleUploadedFile(name, data, content_type="image/jpeg")})


def test_the_upload_page_has_a_file_input_and_camera_capture(client):
    page = client.get("/").content.decode()

    assert 'type="file"' in page
    assert 'capture="environment"' in page
    assert 'enctype="multipart/form-data"' in page


def test_uploading_shows_the_result_page(client, catalogue, coffee_png):
    response = post_photo(client, png_to_jpeg(coffee_png))

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    prediction = Prediction.objects.get()
    assert "Espresso" in page
    assert f"band-{prediction.confidence_band}" in page
    assert f"<strong>{round(prediction.confidence * 100)} %</strong>" in page
    assert "Nutrition facts per 100 g" in page
    assert "FDC id 171891" in page
    assert page.count('class="bar-fill"') == 5
    assert "Was this right?" in page


def test_a_photo_from_the_camera_input_is_recognised(client, catalogue, coffee_png):
    response = client.post("/", {"camera": SimpleUploadedFile("IMG_0001.jpg", png_to_jpeg(coffee_png), content_type="image/jpeg")})

    assert response.status_code == 302
    assert Prediction.objects.get().food.key == "espresso"


def test_a_gallery_photo_and_a_camera_photo_together_are_refused(client, catalogue, coffee_png, media_root):
    photo = png_to_jpeg(coffee_png)
    response = client.post(
        "/",
        {
            "image": SimpleUploadedFile("a.jpg", photo, content_type="image/jpeg"),
            "camera": SimpleUploadedFile("b.jpg", photo, content_type="image/jpeg"),
        },
    )

    assert response.status_code == 400
    assert "Send one photo per request" in response.content.decode()
    assert Prediction.objects.get().status == "rejected"


def test_a_bad_file_shows_the_reason_on_the_form(client, catalogue, media_root):
    response = post_photo(client, b"not an image at all, sorry" * 5)

    assert response.status_code == 400
    assert "not an image we can read" in response.content.decode()
    assert not media_root.exists() or not any(path.is_file() for path in media_root.rglob("*"))


def test_feedback_form_confirms_and_then_corrects(client, catalogue, coffee_png):
    detail_url = post_photo(client, png_to_jpeg(coffee_png))["Location"]
    prediction = Prediction.objects.get()

    client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "yes"})
    assert "Thanks! You said:" in client.get(detail_url).content.decode()
    client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "no", "food": "cup"})

    prediction.refresh_from_db()
    assert prediction.feedback_correct is False
    assert prediction.feedback_food == Food.objects.get(key="cup")


def test_feedback_without_the_right_food_is_refused_with_a_reason(client, catalogue, coffee_png):
    post_photo(client, png_to_jpeg(coffee_png))
    prediction = Prediction.objects.get()

    response = client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "no"})

    assert response.status_code == 400
    assert "Tell us the right food" in response.content.decode()
    prediction.refresh_from_db()
    assert prediction.feedback_at is None


def test_history_shows_only_your_own_predictions(client, catalogue, coffee_png, cat_png):
    post_photo(client, png_to_jpeg(coffee_png))
    stranger = Client()
    post_photo(stranger, cat_png, "cat.png")

    mine = client.get("/history").content.decode()
    theirs = stranger.get("/history").content.decode()

    assert "Espresso" in mine and "No food recognised" not in mine
    assert "No food recognised" in theirs and "Espresso" not in theirs


def test_another_user_gets_404_for_your_result_page(client, catalogue, coffee_png):
    post_photo(client, png_to_jpeg(coffee_png))
    prediction = Prediction.objects.get()

    assert Client().get(f"/predictions/{prediction.pk}/").status_code == 404
    assert Client().post(f"/predictions/{prediction.pk}/feedback", {"correct": "yes"}).status_code == 404


@pytest.fixture
def staff_client(client):
    staff = User.objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")
    client.force_login(staff)
    return client


def test_admin_pages_load_with_filters_and_detail(staff_client, catalogue, coffee_png):
    post_photo(staff_client, png_to_jpeg(coffee_png))
    prediction = Prediction.objects.get()

    changelist = staff_client.get("/admin/predictions/prediction/?band=good&feedback=none&no_food__exact=0")
    detail = staff_client.get(f"/admin/predictions/prediction/{prediction.pk}/change/")
    foods = staff_client.get("/admin/predictions/food/?q=espresso")

    assert changelist.status_code == 200 and "<img" in changelist.content.decode()
    assert detail.status_code == 200 and "Espresso" in detail.content.decode()
    assert foods.status_code == 200


def test_admin_exports_selected_predictions_as_csv(staff_client, catalogue, coffee_png):
    post_photo(staff_client, png_to_jpeg(coffee_png))
    prediction = Prediction.objects.get()

    response = staff_client.post(
        "/admin/predictions/prediction/", {"action": "export_csv", "_selected_action": [prediction.pk]}
    )

    lines = response.content.decode().strip().splitlines()
    assert response["Content-Type"] == "text/csv"
    assert lines[0].startswith("id,created_at,status")
    assert lines[1].startswith(f"{prediction.pk},") and ",espresso," in lines[1]


def test_admin_never_shows_the_session_key(staff_client, catalogue, coffee_png):
    anonymous = Client()
    post_photo(anonymous, png_to_jpeg(coffee_png))
    prediction = Prediction.objects.get()

    page = staff_client.get(f"/admin/predictions/prediction/{prediction.pk}/change/").content.decode()

    assert prediction.session_key and prediction.session_key not in page


def test_csv_export_quotes_text_a_spreadsheet_would_run(staff_client, catalogue, coffee_png):
    post_photo(staff_client, png_to_jpeg(coffee_png))
    prediction = Prediction.objects.get()
    staff_client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "no", "food_text": '=HYPERLINK("http://x")'})

    response = staff_client.post("/admin/predictions/prediction/", {"action": "export_csv", "_selected_action": [prediction.pk]})

    assert "'=HYPERLINK" in response.content.decode()
