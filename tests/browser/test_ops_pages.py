"""The MLOps pages in a real browser: staff log in, every page draws its charts without a JavaScript error,
filters live in the URL, the auto-refresh keeps them, and a row leads to its prediction. Screenshots of every
page at desktop and phone width go to var/test-artifacts/ops-pages/."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from mlops import mlflow_store
from tests.mlops.factories import food_make, predictions_make
from tests.support.ops_data import ops_data_make

from .conftest import PHONE

pytestmark = pytest.mark.browser

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "ops-pages"
PAGES = {
    "overview": "/mlops/",
    "predictions": "/mlops/predictions/",
    "drift": "/mlops/drift/",
    "models": "/mlops/models/",
    "alerts": "/mlops/alerts/",
    "jobs": "/mlops/jobs/",
}
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def ops(site, new_context, settings, tmp_path, mlflow_sqlite_uri):
    """A filled system and a staff member signed in through the login form; JavaScript errors and failed requests are collected."""
    settings.NUTRILEARN_PAGE_REFRESH_SECONDS = 1
    settings.MLFLOW_TRACKING_URI = mlflow_sqlite_uri
    settings.MLFLOW_ARTIFACT_ROOT = (tmp_path / "artifacts").as_uri()
    mlflow_store.reset_client()
    data = ops_data_make()
    get_user_model().objects.create_user("ops", password="pw-ops-123456", is_staff=True)
    context = new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda message: errors.append(f"{message.text} {message.location}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda response: errors.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    page.goto(f"{site}/mlops/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", "pw-ops-123456")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/mlops/$"))
    return {"site": site, "page": page, "context": context, "errors": errors, "data": data}


def charts_drawn(page) -> tuple[int, int]:
    """(charts on the page, charts that drew their SVG)."""
    return page.locator(".chart").count(), page.locator(".chart:has(svg.main-svg)").count()


def test_every_page_draws_its_charts_without_errors_at_desktop_and_phone_width(ops, new_context):
    page, site = ops["page"], ops["site"]
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    phone = new_context(**PHONE, storage_state=ops["context"].storage_state()).new_page()
    phone.on("pageerror", lambda error: ops["errors"].append(str(error)))
    drawn = {}
    for name, path in PAGES.items():
        page.goto(f"{site}{path}?days=90")
        page.wait_for_load_state("networkidle")
        total, with_svg = charts_drawn(page)
        drawn[name] = (total, with_svg)
        page.screenshot(path=ARTEFACTS / f"{name}-desktop.png", full_page=True)
        phone.goto(f"{site}{path}?days=90")
        phone.wait_for_load_state("networkidle")
        phone.screenshot(path=ARTEFACTS / f"{name}-phone.png", full_page=True)
        assert phone.evaluate(OVERFLOW) <= 0, f"{name} is wider than a phone screen"

    assert ops["errors"] == []
    assert all(total == with_svg for total, with_svg in drawn.values()), drawn
    assert (drawn["overview"][0], drawn["drift"][0], drawn["models"][0]) == (4, 3, 5)  # the drift data has no image statistics
    assert page.locator("img.thumb").count() == 0  # the jobs page (last visited) has no photos


def test_the_drift_photos_and_thumbnails_load(ops):
    page = ops["page"]
    page.goto(f"{ops['site']}/mlops/drift/")

    photos = page.locator("#drift-photos img")
    expect(photos).to_have_count(24)
    photos.last.scroll_into_view_if_needed()
    expect(photos.last).to_have_js_property("complete", True)
    assert photos.last.evaluate("img => img.naturalWidth") == 160


def test_a_filter_change_updates_the_address_and_the_rows_and_a_row_opens_its_prediction(ops):
    page = ops["page"]
    page.goto(f"{ops['site']}/mlops/predictions/?days=30")

    page.select_option("select[name=food]", "salad")

    expect(page).to_have_url(re.compile(r"food=salad"))
    expect(page).to_have_url(re.compile(r"days=30"))
    rows = page.locator("#predictions-table tbody tr")
    expect(rows).to_have_count(24)
    expect(page.locator("#predictions-table tbody td:nth-child(3)").first).to_have_text("Salad")
    rows.first.locator("td").nth(2).click()
    expect(page).to_have_url(re.compile(r"/mlops/predictions/\d+/\?days=30"))
    expect(page.locator("#food-name")).to_have_text("Salad")
    expect(page.locator("#admin-link")).to_be_visible()


def test_the_auto_refresh_shows_new_figures_and_keeps_the_filters(ops):
    page = ops["page"]
    page.goto(f"{ops['site']}/mlops/?days=30&model_version=1")
    page.evaluate("window.scrollTo(0, 300)")
    before = page.locator("#card-predictions .value").inner_text()

    predictions_make(7, food=food_make("pizza"), model_version="1")

    expect(page.locator("#card-predictions .value")).not_to_have_text(before, timeout=10_000)
    assert page.url.endswith("/mlops/?days=30&model_version=1")
    assert page.evaluate("window.scrollY") == 300
    assert page.locator("select[name=model_version]").input_value() == "1"
    assert charts_drawn(page)[0] == charts_drawn(page)[1]
    assert ops["errors"] == []


def test_staff_acknowledge_an_open_alert(ops):
    page = ops["page"]
    page.goto(f"{ops['site']}/mlops/alerts/")

    page.locator(f"#alert-{ops['data']['alert'].pk} button", has_text="Acknowledge").click()

    expect(page.locator(f"#alert-{ops['data']['alert'].pk}")).to_contain_text("ops")
    expect(page).to_have_url(re.compile(r"/mlops/alerts/"))
