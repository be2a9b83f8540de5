"""Promoting from the Models page in a real browser: pick a version, read the guardrail's verdict, give a reason, override.

Screenshots of the confirmation at desktop and phone width go to var/test-artifacts/promotion/."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mlops.mlflow_store import registry
from mlops.models import PromotionRecord
from tests.support.promotion import evaluation_make, promoter_make, versions_register
from tests.support.registry import bundled_state_dict, nudged_state_dict  # noqa: F401 (fixtures)

from .conftest import PHONE

pytestmark = pytest.mark.browser

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "promotion"
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def test_a_promoter_overrides_a_refused_promotion_with_a_reason(site, new_context, mlflow_client, tmp_path, nudged_state_dict):  # noqa: F811
    versions_register(tmp_path, nudged_state_dict)
    evaluation_make(version="1", right=90, wrong=10)
    evaluation_make(version="2", right=60, wrong=40)
    promoter = promoter_make()
    promoter.set_password("pw-promoter-123456")
    promoter.save()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    context = new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{site}/mlops/models/")
    page.fill("input[name=username]", "promoter")
    page.fill("input[name=password]", "pw-promoter-123456")
    page.click("button[type=submit]")

    page.select_option("#promote-pick select[name=version]", "2")
    page.click("#promote-pick button")
    expect(page.locator("#guardrail-verdict")).to_contain_text("Worse: on 100 shared images")
    page.screenshot(path=ARTEFACTS / "confirm-desktop.png", full_page=True)
    phone = new_context(**PHONE, storage_state=context.storage_state()).new_page()
    phone.goto(page.url)
    phone.screenshot(path=ARTEFACTS / "confirm-phone.png", full_page=True)
    assert phone.evaluate(OVERFLOW) <= 0

    page.fill("#id_reason", "The held-out set predates the new menu")
    page.check("#id_override")
    page.click("#promote-form button[type=submit]")

    expect(page).to_have_url(re.compile(r"/mlops/models/#lifecycle-controls$"))
    expect(page.locator("#promotion-message")).to_have_text("Version 2 is the champion over the guardrail (was 1).")
    expect(page.locator("#promotion-records tbody tr").first).to_contain_text("The held-out set predates the new menu")
    page.locator("#lifecycle-controls").screenshot(path=ARTEFACTS / "models-after-desktop.png")
    assert registry.aliases_get()["champion"] == "2"
    assert PromotionRecord.objects.get().kind == "override"
    assert errors == []
