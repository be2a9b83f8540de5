"""A visitor uploads a meal photo on the web form, reads the result and says whether it was right."""

import re

import pytest
from playwright.sync_api import expect

from predictions.models import Prediction

pytestmark = pytest.mark.browser

RESULT_URL = re.compile(r"/predictions/(\d+)/$")


def upload(page, site, path):
    page.goto(f"{site}/")
    page.set_input_files("#photo-input", str(path))
    page.click("#submit")


def upload_photo(page, site, tmp_path, name, data) -> Prediction:
    path = tmp_path / name
    path.write_bytes(data)
    upload(page, site, path)
    expect(page).to_have_url(RESULT_URL)
    return Prediction.objects.get(pk=int(RESULT_URL.search(page.url).group(1)))


def band_of(confidence: float) -> str:
    # The seed's bands: good > 90 %, acceptable 80-90 %, low < 80 %.
    return "good" if confidence > 0.9 else "acceptable" if confidence >= 0.8 else "low"


def test_an_espresso_photo_shows_the_food_confidence_alternatives_and_nutrition(site, page, tmp_path, coffee_png):
    prediction = upload_photo(page, site, tmp_path, "coffee.png", coffee_png)

    expect(page.locator("#food-name")).to_have_text("Espresso")
    expect(page.locator("#confidence")).to_contain_text(f"{round(prediction.confidence * 100)} %")
    expect(page.locator("#confidence .badge")).to_have_text(band_of(prediction.confidence))
    expect(page.locator("#alternatives li")).to_have_count(5)
    expect(page.locator("#alternatives li").nth(1)).to_contain_text("Cup of coffee")
    expect(page.locator("#nutrition tr")).to_have_count(5)
    expect(page.locator("#nutrition")).to_contain_text("Energy")
    photo = page.locator(".photo img")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") > 0
    page.screenshot(path=tmp_path / "result-desktop.png", full_page=True)


def test_confirming_the_answer_thanks_the_visitor_and_stores_it(site, page, tmp_path, coffee_png):
    prediction = upload_photo(page, site, tmp_path, "coffee.png", coffee_png)

    page.get_by_label("Yes, that's right").check()
    expect(page.locator("select[name=food]")).to_be_hidden()
    page.get_by_role("button", name="Send").click()

    expect(page.locator("#feedback-status")).to_contain_text("Thanks! You said: yes, that's right")
    prediction.refresh_from_db()
    assert prediction.feedback_correct is True
    assert prediction.true_food_key == "espresso"


def test_the_answer_can_be_changed_to_another_food_from_the_list(site, page, tmp_path, coffee_png):
    prediction = upload_photo(page, site, tmp_path, "coffee.png", coffee_png)
    page.get_by_label("Yes, that's right").check()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#feedback-status")).to_be_visible()

    page.get_by_label("No", exact=True).check()
    page.locator("select[name=food]").select_option(label="Cup of coffee")
    page.get_by_role("button", name="Send").click()

    expect(page.locator("#feedback-status")).to_contain_text("it is Cup of coffee")
    expect(page.get_by_label("No", exact=True)).to_be_checked()
    prediction.refresh_from_db()
    assert prediction.feedback_correct is False
    assert prediction.true_food_key == "cup"
    assert Prediction.objects.filter(feedback_at__isnull=False).count() == 1


def test_another_visitor_cannot_open_the_result_and_has_an_empty_history(site, new_context, tmp_path, coffee_png):
    owner = new_context().new_page()
    upload_photo(page=owner, site=site, tmp_path=tmp_path, name="coffee.png", data=coffee_png)
    stranger = new_context().new_page()

    response = stranger.goto(owner.url)
    stranger.goto(f"{site}/history")

    assert response.status == 404
    expect(stranger.get_by_text("No photos yet")).to_be_visible()
    owner.goto(f"{site}/history")
    expect(owner.locator("ul.history li")).to_have_count(1)
    expect(owner.locator("ul.history")).to_contain_text("Espresso")


def test_a_cat_photo_says_no_food_recognised(site, page, tmp_path, cat_png):
    upload_photo(page, site, tmp_path, "chelsea.png", cat_png)

    expect(page.locator("#food-name")).to_have_text("No food recognised")
    expect(page.get_by_role("heading", name="Closest foods, if there is food in it")).to_be_visible()
    expect(page.locator("#confidence")).to_have_count(0)
    expect(page.locator("#nutrition")).to_have_count(0)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.jpg", b"", "The file is empty"),
        ("notes.txt", b"shopping list: eggs, milk\n" * 20, "This file is not an image we can read"),
    ],
)
def test_an_empty_or_non_image_file_shows_the_error_on_the_form(site, page, tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)

    upload(page, site, path)

    expect(page.get_by_role("alert")).to_contain_text(message)
    expect(page.locator("#photo-input")).to_be_attached()
    assert not RESULT_URL.search(page.url)
    assert not Prediction.objects.filter(status=Prediction.Status.OK).exists()
