"""On a phone, a photo the model is unsure about asks "Is it one of these?"; one tap on a choice shows
that food's nutrition. Screenshots of both steps go to var/test-artifacts/unsure-answer/."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from predictions.models import Prediction

pytestmark = pytest.mark.browser

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "unsure-answer"
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def test_on_a_phone_an_unsure_photo_asks_and_one_tap_shows_the_picked_food(site, phone_page, tmp_path, moon_png):
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "moon.png"
    path.write_bytes(moon_png)
    phone_page.goto(f"{site}/")
    phone_page.set_input_files("#photo-input", str(path))
    phone_page.click("#submit")

    expect(phone_page.locator("#food-name")).to_have_text("Not sure what this is")
    expect(phone_page.get_by_role("heading", name="Is it one of these?")).to_be_visible()
    expect(phone_page.locator("#choices button")).to_have_count(5)
    expect(phone_page.locator("#nutrition")).to_have_count(0)
    expect(phone_page.get_by_role("heading", name="Something else?")).to_be_visible()
    assert phone_page.locator("#choices button").first.bounding_box()["height"] >= 44
    assert phone_page.evaluate(OVERFLOW) <= 0
    phone_page.screenshot(path=ARTEFACTS / "ask-phone.png", full_page=True)

    phone_page.locator("#choices button", has_text="Espresso").tap()

    expect(phone_page.locator("#food-name")).to_have_text("Espresso")
    expect(phone_page.locator("#confirmed")).to_contain_text("Confirmed by you")
    expect(phone_page.locator("#nutrition")).to_contain_text("9 kcal")
    expect(phone_page.locator("#choices button.picked")).to_contain_text("Espresso")
    assert phone_page.evaluate(OVERFLOW) <= 0
    phone_page.screenshot(path=ARTEFACTS / "picked-phone.png", full_page=True)
    prediction = Prediction.objects.get()
    assert (prediction.feedback_correct, prediction.feedback_food.key) == (False, "espresso")
