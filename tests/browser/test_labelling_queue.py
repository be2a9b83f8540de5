"""A staff member labels the queue with the keyboard only: j/k to move, a digit for an answer, s to skip, n for not food,
/ to search the catalogue. Each label is one POST; the next photo comes up without a page load.
A screenshot of the queue goes to var/test-artifacts/labelling/."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from mlops.labelling.models import Label
from tests.mlops.factories import food_make, predictions_make
from tests.support.labelled import stored_photo
from tests.support.ops_data import photo_bytes

pytestmark = pytest.mark.browser

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "labelling"


def queued(margin: float):
    """A photo whose top answer (pizza) leads the next (salad) by ``margin``: smaller margins come first in the queue."""
    food_make("salad")
    (prediction,) = predictions_make(
        food=food_make("pizza"),
        confidence=0.5,
        top_k=[{"food": "pizza", "confidence": 0.5}, {"food": "salad", "confidence": 0.5 - margin}],
        food_mass=0.9,
    )
    return stored_photo(prediction, photo_bytes((180, 120, 60)))


def test_staff_label_the_queue_with_the_keyboard(site, page):
    first, second, third, fourth = (queued(margin) for margin in (0.01, 0.1, 0.2, 0.3))
    get_user_model().objects.create_user("ops", password="pw-ops-123456", is_staff=True)
    page.goto(f"{site}/mlops/labelling/")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", "pw-ops-123456")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/mlops/labelling/$"))
    expect(page.locator("#queue[data-keys-ready]")).to_have_count(1)  # the keyboard handler is listening
    current = page.locator(".queue-item.current")
    expect(current).to_have_id(f"queue-{first.pk}")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTEFACTS / "queue-desktop.png", full_page=True)

    page.keyboard.press("j")
    expect(current).to_have_id(f"queue-{second.pk}")
    page.keyboard.press("k")
    expect(current).to_have_id(f"queue-{first.pk}")
    page.keyboard.press("2")  # the second answer: salad
    expect(page.locator(f"#queue-{first.pk} .label-status")).to_have_text("Labelled salad.")
    expect(current).to_have_id(f"queue-{second.pk}")
    page.keyboard.press("s")
    expect(current).to_have_id(f"queue-{third.pk}")
    page.keyboard.press("n")
    expect(current).to_have_id(f"queue-{fourth.pk}")
    page.keyboard.press("/")
    page.keyboard.type("sushi")
    page.keyboard.press("Enter")
    expect(page.locator(f"#queue-{fourth.pk} .label-status")).to_contain_text("Unknown food 'sushi'")  # not in the catalogue (yet)
    food_make("sushi")
    page.keyboard.press("Enter")
    expect(page.locator(f"#queue-{fourth.pk} .label-status")).to_have_text("Labelled sushi.")
    expect(page.locator("#queue-empty")).to_be_visible()

    labels = {label.prediction_id: (label.food_key, label.source, label.user.username) for label in Label.objects.all()}
    assert labels == {
        first.pk: ("salad", "staff_queue", "ops"),
        third.pk: ("no_food", "staff_queue", "ops"),
        fourth.pk: ("sushi", "staff_queue", "ops"),
    }
    page.reload()
    expect(page.locator(".queue-item")).to_have_count(0)  # labelled, or skipped in this session
