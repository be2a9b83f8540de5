"""The Predictions page: every filter, keyset pages that neither skip nor repeat a row, the detail page and thumbnails."""

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from predictions.models import Prediction
from tests.support.ops_data import with_photo

from ..factories import food_make, predictions_make

pytestmark = pytest.mark.django_db


def listed_ids(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr class="row-link"[^>]*id="prediction-(\d+)"', page)]


@pytest.fixture
def mixed(db):
    """Eight kinds of row, one filter each can single out."""
    now = timezone.now()
    pizza, soup = food_make("pizza"), food_make("soup")
    return {
        "soup": predictions_make(2, at=now - timedelta(hours=1), food=soup, confidence=0.95),
        "low": predictions_make(1, at=now - timedelta(hours=2), food=pizza, confidence=0.5),
        "acceptable": predictions_make(1, at=now - timedelta(hours=3), food=pizza, confidence=0.85),
        "corrected": predictions_make(1, at=now - timedelta(hours=4), food=pizza, confidence=0.95, feedback_correct=False,
                                      feedback_food=soup),  # fmt: skip
        "no_food": predictions_make(1, at=now - timedelta(hours=5), food=None, confidence=None, no_food=True),
        "version_2": predictions_make(1, at=now - timedelta(hours=6), food=pizza, confidence=0.95, model_version="2"),
        "failed": predictions_make(1, at=now - timedelta(hours=7), status=Prediction.Status.FAILED),
        "old": predictions_make(1, at=now - timedelta(days=20), food=pizza, confidence=0.95),
    }


@pytest.mark.parametrize(
    ("params", "kind"),
    [
        ({"food": "soup"}, "soup"),
        ({"band": "low"}, "low"),
        ({"band": "acceptable"}, "acceptable"),
        ({"feedback": "corrected"}, "corrected"),
        ({"no_food": "yes"}, "no_food"),
        ({"model_version": "2"}, "version_2"),
        ({"status": "failed"}, "failed"),
        ({"start": str((timezone.now() - timedelta(days=30)).date()), "end": str((timezone.now() - timedelta(days=10)).date())}, "old"),
    ],
)
def test_each_filter_lists_only_the_rows_it_describes(staff_client, mixed, params, kind):
    page = staff_client.get("/mlops/predictions/", params).content.decode()

    assert sorted(listed_ids(page)) == sorted(prediction.pk for prediction in mixed[kind])


def test_the_default_window_lists_the_last_seven_days_newest_first(staff_client, mixed):
    page = staff_client.get("/mlops/predictions/").content.decode()

    expected = Prediction.objects.filter(created_at__gte=timezone.now() - timedelta(days=7)).order_by("-created_at", "-id")
    assert listed_ids(page) == [prediction.pk for prediction in expected]


def test_pages_of_fifty_walk_older_and_back_newer_without_skipping_or_repeating_a_row(staff_client):
    now = timezone.now()
    # Three rows share each second: ties on created_at are ordered by id.
    created = []
    for second in range(40):
        created += predictions_make(3, at=now - timedelta(minutes=10) + timedelta(seconds=second), spacing=timedelta(0))
    expected = [prediction.pk for prediction in sorted(created, key=lambda p: (p.created_at, p.pk), reverse=True)]

    first = staff_client.get("/mlops/predictions/").content.decode()
    older = re.search(r'href="\?([^"]*after=\d+)" id="older-page"', first).group(1).replace("&amp;", "&")
    second = staff_client.get(f"/mlops/predictions/?{older}").content.decode()
    oldest = re.search(r'href="\?([^"]*after=\d+)" id="older-page"', second).group(1).replace("&amp;", "&")
    third = staff_client.get(f"/mlops/predictions/?{oldest}").content.decode()
    newer = re.search(r'href="\?([^"]*before=\d+)" id="newer-page"', third).group(1).replace("&amp;", "&")
    back = staff_client.get(f"/mlops/predictions/?{newer}").content.decode()

    assert listed_ids(first) + listed_ids(second) + listed_ids(third) == expected
    assert [len(listed_ids(page)) for page in (first, second, third)] == [50, 50, 20]
    assert 'id="older-page"' not in third and 'id="newer-page"' not in first
    assert listed_ids(back) == listed_ids(second)


def test_a_page_keeps_its_filters_in_its_links(staff_client, mixed):
    page = staff_client.get("/mlops/predictions/", {"days": "30", "food": "soup"}).content.decode()

    assert f'data-href="/mlops/predictions/{mixed["soup"][0].pk}/?days=30"' in page
    assert 'href="/mlops/drift/?days=30"' in page
    assert '<option value="soup" selected>' in page


def test_an_unknown_food_or_cursor_is_refused_with_a_reason(staff_client):
    assert "no food &#x27;caviar&#x27;" in staff_client.get("/mlops/predictions/", {"food": "caviar"}).content.decode()
    response = staff_client.get("/mlops/predictions/", {"after": "999999"})
    assert response.status_code == 400
    assert "Prediction 999999 no longer exists" in response.content.decode()


def test_the_detail_page_shows_the_photo_top_five_feedback_statistics_and_links_both_ways(staff_client, admin_client, mlflow_client):
    soup = food_make("soup")
    prediction = with_photo(predictions_make(1, food=food_make("pizza"), confidence=0.93, feedback_correct=False, feedback_food=soup,
                                             brightness=0.42, image_width=1024, image_height=768, mlflow_run_id="abc123",
                                             mlflow_step=7)[0])  # fmt: skip
    Prediction.objects.filter(pk=prediction.pk).update(top_k=[{"food": "pizza", "confidence": 0.93}, {"food": "soup", "confidence": 0.05}])

    page = staff_client.get(f"/mlops/predictions/{prediction.pk}/").content.decode()
    admin = admin_client.get(f"/admin/predictions/prediction/{prediction.pk}/change/").content.decode()

    assert f'src="/media/{prediction.image.name}"' in page
    assert re.search(r'id="top-k">.*Pizza.*93\.0 %.*Soup.*5\.0 %', page, re.S)
    assert "Corrected to <strong>Soup</strong>" in page
    assert "1024 × 768 pixels" in page and "0.420" in page
    assert re.search(r'href="http://127\.0\.0\.1:5000/#/experiments/\d+/runs/abc123" id="mlflow-run-link"', page)
    assert f'href="/admin/predictions/prediction/{prediction.pk}/change/"' in page
    assert f'href="/mlops/predictions/{prediction.pk}/"' in admin


def test_a_thumbnail_is_a_small_jpeg_made_once(staff_client, media_root):
    prediction = with_photo(predictions_make(1, food=food_make("pizza"))[0])

    first = staff_client.get(f"/mlops/predictions/{prediction.pk}/thumbnail.jpg")
    stored = list((media_root / "thumbnails").rglob("*.jpg"))
    again = staff_client.get(f"/mlops/predictions/{prediction.pk}/thumbnail.jpg")

    assert first["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(b"".join(first.streaming_content)))
    assert image.size == (160, 160)
    assert len(stored) == 1 and stored[0].stat().st_size < 10_000
    assert again.status_code == 200 and list((media_root / "thumbnails").rglob("*.jpg")) == stored


def test_a_prediction_without_a_photo_has_no_thumbnail(staff_client):
    prediction = predictions_make(1, status=Prediction.Status.REJECTED)[0]

    assert staff_client.get(f"/mlops/predictions/{prediction.pk}/thumbnail.jpg").status_code == 404
