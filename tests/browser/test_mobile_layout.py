"""On a phone the upload page offers the camera and nothing spills over the screen's edge."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def test_the_upload_page_on_a_phone_offers_the_camera_and_fits_the_screen(site, phone_page):
    phone_page.goto(f"{site}/")

    expect(phone_page.locator("#camera-input")).to_be_visible()
    expect(phone_page.locator("#photo-input")).to_be_visible()
    expect(phone_page.locator("#submit")).to_be_visible()
    assert phone_page.evaluate(OVERFLOW) <= 0


def test_the_upload_page_on_a_desktop_hides_the_camera_input(site, page):
    page.goto(f"{site}/")

    expect(page.locator("#photo-input")).to_be_visible()
    expect(page.locator("#camera-input")).to_be_hidden()


def test_the_result_page_on_a_phone_fits_the_screen(site, phone_page, tmp_path, coffee_png):
    path = tmp_path / "coffee.png"
    path.write_bytes(coffee_png)
    phone_page.goto(f"{site}/")
    phone_page.set_input_files("#photo-input", str(path))
    phone_page.click("#submit")

    expect(phone_page.locator("#food-name")).to_have_text("Espresso")
    expect(phone_page.locator("#alternatives li")).to_have_count(5)
    assert phone_page.locator(".photo img").evaluate("img => img.complete && img.naturalWidth") > 0
    assert phone_page.evaluate(OVERFLOW) <= 0
    phone_page.screenshot(path=tmp_path / "result-phone.png", full_page=True)
