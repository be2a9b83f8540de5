"""When the model is unsure (low band) the result page and the API ask "Is it one of these?" instead of answering."""

import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from predictions.models import Food, Prediction
from tests.images import png_to_jpeg
from tests.mlops.factories import predictions_make

pytestmark = pytest.mark.django_db

MOON_TOP_5 = ["consomme", "espresso", "fig", "bagel", "orange"]
CHOICE_BUTTON = re.compile(r'<ul class="pick" id="choices">(.*?)</ul>', re.S)


def post_photo(client, data: bytes):
    return client.post("/", {"image": SimpleUploadedFile("meal.png", data, content_type="image/png")})


def choice_buttons(page: str) -> list[str]:
    """The visible names on the one-tap choice buttons, in order."""
    block = CHOICE_BUTTON.search(page)
    return re.findall(r'<span class="name">([^<]*)</span>', block.group(1)) if block else []


def unsure_prediction(user, *, confidence: float, food: str = "pizza", no_food: bool = False) -> Prediction:
    keys = [food, "bagel", "cheeseburger", "hotdog", "potpie"]
    shares = [0.3 if no_food else confidence, 0.1, 0.05, 0.03, 0.02]
    [prediction] = predictions_make(
        user=user,
        food=None if no_food else Food.objects.get(key=food),
        confidence=None if no_food else confidence,
        no_food=no_food,
        food_mass=0.02 if no_food else 0.8,
        top_k=[{"food": key, "confidence": share} for key, share in zip(keys, shares, strict=True)],
        model_version="bundled",
        mirrored=False,
    )
    return prediction


@pytest.fixture
def owner(client):
    user = User.objects.create_user("maria", password="pw-maria-123")
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("confidence", "no_food", "unsure"),
    [(0.3, False, True), (0.799, False, True), (0.8, False, False), (0.95, False, False), (None, True, False)],
)
def test_only_a_low_band_food_answer_is_unsure(catalogue, confidence, no_food, unsure):
    prediction = unsure_prediction(None, confidence=confidence, no_food=no_food)

    assert prediction.is_unsure is unsure
    assert prediction.needs_confirmation is unsure
    assert len(prediction.confirmation_choices) == (5 if unsure else 0)


def test_an_unsure_photo_asks_with_its_top_5_as_choices_and_no_nutrition(client, catalogue, moon_png):
    response = post_photo(client, moon_png)
    page = client.get(response["Location"]).content.decode()

    prediction = Prediction.objects.get()
    assert prediction.confidence_band == "low"
    assert [item["food"] for item in prediction.top_k] == MOON_TOP_5
    assert '<h1 id="food-name">Not sure what this is</h1>' in page
    assert "Is it one of these?" in page
    assert f"Our best guess is only {round(prediction.confidence * 100)} % confident" in page
    assert choice_buttons(page) == ["Consommé (clear soup)", "Espresso", "Fig", "Bagel", "Orange"]
    assert "Nutrition facts" not in page
    assert 'id="confidence"' not in page
    assert "Something else?" in page
    assert 'name="food_text"' in page


def test_each_choice_posts_the_feedback_it_stands_for(client, catalogue, moon_png):
    page = client.get(post_photo(client, moon_png)["Location"]).content.decode()

    forms = re.findall(r'<li><form method="post".*?</form></li>', CHOICE_BUTTON.search(page).group(1), re.S)
    assert len(forms) == 5
    assert 'name="correct" value="yes"' in forms[0] and 'name="food"' not in forms[0]
    assert 'name="correct" value="no"' in forms[1] and 'name="food" value="espresso"' in forms[1]


def test_picking_another_choice_stores_a_correction_and_shows_its_nutrition(client, catalogue, moon_png):
    detail_url = post_photo(client, moon_png)["Location"]
    prediction = Prediction.objects.get()

    response = client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "no", "food": "espresso"})
    page = client.get(detail_url).content.decode()

    assert response.status_code == 302
    prediction.refresh_from_db()
    assert prediction.feedback_correct is False
    assert prediction.true_food_key == "espresso"
    assert '<h1 id="food-name">Espresso</h1>' in page
    assert "Confirmed by you" in page
    assert "Nutrition facts per 100 g" in page
    assert "<td>9 kcal</td>" in page
    assert "FDC id 171891" in page
    assert "Not right? Pick again" in page
    assert re.search(r'class="picked" aria-pressed="true">\s*<span class="name">Espresso</span>', page)
    assert '<option value="espresso" selected>' not in page


def test_picking_the_top_choice_confirms_the_prediction(client, catalogue, moon_png):
    detail_url = post_photo(client, moon_png)["Location"]
    prediction = Prediction.objects.get()

    client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "yes"})
    page = client.get(detail_url).content.decode()

    prediction.refresh_from_db()
    assert prediction.feedback_correct is True
    assert prediction.true_food_key == "consomme"
    assert '<h1 id="food-name">Consommé (clear soup)</h1>' in page
    assert "<td>12 kcal</td>" in page


def test_something_else_typed_by_hand_is_stored_and_shown_without_nutrition(client, catalogue, owner):
    prediction = unsure_prediction(owner, confidence=0.09, food="corn")

    client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "no", "food_text": "Bibimbap"})
    page = client.get(f"/predictions/{prediction.pk}/").content.decode()

    prediction.refresh_from_db()
    assert prediction.feedback_text == "Bibimbap"
    assert '<h1 id="food-name">Bibimbap</h1>' in page
    assert "Confirmed by you" in page
    assert "Nutrition facts" not in page
    assert "Sweet corn" not in page.split('id="choices"')[0]
    assert 'value="Bibimbap"' in page


def test_something_else_without_a_food_says_what_is_missing(client, catalogue, owner):
    prediction = unsure_prediction(owner, confidence=0.09, food="corn")

    response = client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "no", "food": "", "food_text": ""})

    assert response.status_code == 400
    assert "Tell us the right food" in response.content.decode()
    assert "Is it one of these?" in response.content.decode()
    prediction.refresh_from_db()
    assert prediction.has_feedback is False


@pytest.mark.parametrize("confidence", [0.8, 0.95])
def test_a_confident_answer_keeps_the_answer_layout(client, catalogue, owner, confidence):
    prediction = unsure_prediction(owner, confidence=confidence)

    page = client.get(f"/predictions/{prediction.pk}/").content.decode()

    assert '<h1 id="food-name">Pizza</h1>' in page
    assert 'id="confidence"' in page
    assert "Nutrition facts per 100 g" in page
    assert "Was this right?" in page
    assert page.count('class="bar-fill"') == 5
    assert 'id="choices"' not in page
    assert "Is it one of these?" not in page


def test_a_no_food_answer_is_not_asked_as_unsure(client, catalogue, owner):
    prediction = unsure_prediction(owner, confidence=None, no_food=True)

    page = client.get(f"/predictions/{prediction.pk}/").content.decode()

    assert '<h1 id="food-name">No food recognised</h1>' in page
    assert "Closest foods, if there is food in it" in page
    assert 'id="choices"' not in page


def api_upload(client, data: bytes):
    return client.post("/api/v1/predict", {"image": SimpleUploadedFile("meal.png", data, content_type="image/png")})


def test_the_api_says_an_unsure_answer_needs_confirmation_with_its_choices(client, catalogue, moon_png):
    body = api_upload(client, moon_png).json()["prediction"]

    assert body["needs_confirmation"] is True
    assert [choice["food"] for choice in body["choices"]] == MOON_TOP_5
    assert body["choices"][0]["name"] == "Consommé (clear soup)"
    assert body["choices"][0]["feedback"] == {"correct": True}
    assert body["choices"][1]["feedback"] == {"correct": False, "food": "espresso"}
    assert body["choices"][1]["confidence"] == body["top_k"][1]["confidence"]


def test_posting_a_choice_through_the_api_confirms_it_with_its_nutrition(client, catalogue, moon_png):
    body = api_upload(client, moon_png).json()["prediction"]

    response = client.post(f"/api/v1/predictions/{body['id']}/feedback", body["choices"][1]["feedback"], content_type="application/json")

    answered = response.json()["prediction"]
    assert response.status_code == 200
    assert answered["needs_confirmation"] is False
    assert answered["feedback"]["food"] == "espresso"
    assert answered["feedback"]["nutrition"]["energy_kcal"] == 9.0
    assert len(answered["choices"]) == 5


def test_the_api_does_not_ask_about_a_confident_answer(client, catalogue, coffee_png):
    body = api_upload(client, png_to_jpeg(coffee_png)).json()["prediction"]

    assert body["confidence_band"] != "low"
    assert body["needs_confirmation"] is False
    assert body["choices"] == []


def test_the_schema_documents_needs_confirmation_and_the_choices(client):
    schema = client.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()

    prediction = schema["components"]["schemas"]["Prediction"]["properties"]
    assert prediction["needs_confirmation"]["type"] == "boolean"
    assert "low confidence" in prediction["needs_confirmation"]["description"]
    assert schema["components"]["schemas"]["ConfirmationChoice"]["properties"]["feedback"]


def test_the_history_shows_an_unsure_answer_as_not_sure_until_the_user_picks(client, catalogue, owner):
    prediction = unsure_prediction(owner, confidence=0.09, food="corn")
    before = client.get("/history").content.decode()

    client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "no", "food": "pizza"})
    after = client.get("/history").content.decode()

    assert '<span class="name">Not sure what this is</span>' in before
    assert "Sweet corn" not in before
    assert '<span class="name">Pizza</span>' in after


def test_a_catalogue_food_outside_the_choices_stays_selected_under_something_else(client, catalogue, owner):
    prediction = unsure_prediction(owner, confidence=0.09, food="corn")

    client.post(f"/predictions/{prediction.pk}/feedback", {"correct": "no", "food": "pizza"})
    page = client.get(f"/predictions/{prediction.pk}/").content.decode()

    assert '<h1 id="food-name">Pizza</h1>' in page
    assert '<option value="pizza" selected>' in page
    assert 'class="picked"' not in page
