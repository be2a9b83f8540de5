"""Shadow mode: the challenger's answer stored beside the champion's after the response, the sweep, agreement, the gallery."""

import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from mlops.labelling.models import Label
from mlops.shadow import enqueue
from mlops.shadow.models import ShadowPrediction
from mlops.shadow.selectors import shadow_agreement
from mlops.shadow.services import shadow_predict, shadow_sweep
from mlops.shadow.serving import ChallengerUnavailable
from predictions.models import Prediction
from tests.mlops.factories import food_make, predictions_make
from tests.mlops.mirror_support import celery_broker
from tests.support.labelled import stored_photo
from tests.support.ops_data import photo_bytes

pytestmark = pytest.mark.django_db


def upload(client, image: bytes) -> Prediction:
    response = client.post("/api/v1/predict", {"image": SimpleUploadedFile("meal.png", image, content_type="image/png")})
    assert response.status_code == 201, response.content
    return Prediction.objects.get(pk=response.json()["prediction"]["id"])


def published_shadow_tasks(monkeypatch) -> list:
    """The messages handed to the broker (the process boundary) for shadow tasks."""
    sent = []
    original = enqueue.celery_app.send_task

    def send_task(name, *args, **kwargs):
        if name == enqueue.SHADOW_TASK:
            sent.append(kwargs["kwargs"])
            return None
        return original(name, *args, **kwargs)

    monkeypatch.setattr(enqueue.celery_app, "send_task", send_task)
    return sent


def test_an_upload_publishes_its_shadow_task_after_commit_only_when_shadow_mode_is_on(
    client, catalogue, coffee_png, settings, monkeypatch, django_capture_on_commit_callbacks
):
    sent = published_shadow_tasks(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, coffee_png)
    assert sent == []

    settings.NUTRILEARN_SHADOW_ENABLED = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        prediction = upload(client, coffee_png)
    assert sent == []  # nothing before the commit
    for callback in callbacks:
        callback()
    enqueue.shadow_publishing_wait()
    assert sent == [{"prediction_id": prediction.pk}]


def test_the_upload_is_answered_while_its_shadow_task_waits_on_the_broker(
    client, catalogue, coffee_png, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.NUTRILEARN_SHADOW_ENABLED = True
    broker_answers, sent = threading.Event(), []

    def send_task(name, *args, **kwargs):
        if name == enqueue.SHADOW_TASK:
            assert broker_answers.wait(timeout=30)
            sent.append(kwargs["kwargs"])
            return None
        return original(name, *args, **kwargs)

    original = enqueue.celery_app.send_task
    monkeypatch.setattr(enqueue.celery_app, "send_task", send_task)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            prediction = upload(client, coffee_png)
        assert sent == []  # answered (201) while the broker has not answered yet
    finally:
        broker_answers.set()
    enqueue.shadow_publishing_wait()
    assert sent == [{"prediction_id": prediction.pk}]


def test_a_dead_broker_neither_fails_the_upload_nor_is_asked_again_until_the_back_off_ends(
    client, catalogue, coffee_png, settings, django_capture_on_commit_callbacks
):
    settings.NUTRILEARN_SHADOW_ENABLED = True
    with celery_broker("redis://127.0.0.1:9/0"):
        with django_capture_on_commit_callbacks(execute=True):
            upload(client, coffee_png)
        enqueue.shadow_publishing_wait()
        assert enqueue.shadow_breaker.is_open()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            upload(client, coffee_png)
        assert [callback() for callback in callbacks][-1] is False  # skipped without asking the broker

    assert Prediction.objects.filter(status="ok").count() == 2
    assert not ShadowPrediction.objects.exists()  # left for the sweeper


@pytest.mark.integration
def test_the_challenger_answers_the_stored_photo_once(champion_and_challenger, client, catalogue, coffee_png):
    prediction = upload(client, coffee_png)
    assert prediction.model_version == "1"

    shadow = shadow_predict(prediction_id=prediction.pk)
    again = shadow_predict(prediction_id=prediction.pk)

    assert again.pk == shadow.pk and ShadowPrediction.objects.count() == 1
    assert (shadow.model_version, shadow.model_sha256) == ("2", champion_and_challenger.sha256)
    assert shadow.food.key == "espresso" and shadow.agrees  # nudged weights, same answer
    assert len(shadow.top_k) == 5 and 0 < shadow.confidence <= 1


@pytest.mark.integration
def test_the_sweep_answers_photos_whose_task_was_lost_and_nothing_else(champion_and_challenger, client, catalogue, coffee_png, settings):
    settings.NUTRILEARN_SHADOW_ENABLED = True
    lost, fresh, answered_by_challenger = (upload(client, coffee_png) for _ in range(3))
    Prediction.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    Prediction.objects.filter(pk=answered_by_challenger.pk).update(created_at=timezone.now() - timedelta(minutes=10), model_version="2")

    assert shadow_sweep() == 1

    assert list(ShadowPrediction.objects.values_list("prediction_id", flat=True)) == [lost.pk]
    assert fresh.pk not in ShadowPrediction.objects.values_list("prediction_id", flat=True)


@pytest.mark.integration
def test_without_a_challenger_nothing_is_stored(served_from_registry, client, catalogue, coffee_png):
    from mlops.services import bundled_model_register

    bundled_model_register()
    prediction = upload(client, coffee_png)

    with pytest.raises(ChallengerUnavailable, match="challenger"):
        shadow_predict(prediction_id=prediction.pk)
    assert not ShadowPrediction.objects.exists()


def disagreement(*, champion: str, challenger: str, champion_confidence=0.7, challenger_confidence=0.6, **fields) -> ShadowPrediction:
    (prediction,) = predictions_make(food=food_make(champion), confidence=champion_confidence, **fields)
    stored_photo(prediction, photo_bytes((150, 100, 50)))
    return ShadowPrediction.objects.create(
        prediction=prediction,
        model_name="food-classifier",
        model_version="2",
        food=food_make(challenger),
        confidence=challenger_confidence,
        agrees=champion == challenger,
    )


def test_agreement_overall_and_per_champion_food():
    for _ in range(3):
        disagreement(champion="pizza", challenger="pizza")
    disagreement(champion="pizza", challenger="salad")
    disagreement(champion="sushi", challenger="ramen")

    agreement = shadow_agreement(start=None, end=None)

    assert (agreement["total"], agreement["agreeing"], agreement["rate"]) == (5, 3, 0.6)
    assert [(row["food"], row["total"], row["rate"]) for row in agreement["per_food"]] == [("pizza", 4, 0.75), ("sushi", 1, 0.0)]


def test_the_gallery_lists_the_disagreements_with_both_answers_and_the_users_feedback(staff_client):
    sushi = food_make("sushi")
    corrected = disagreement(
        champion="pizza",
        challenger="flatbread",
        champion_confidence=0.72,
        challenger_confidence=0.64,
        feedback_correct=False,
        feedback_food=sushi,
    )
    quiet = disagreement(champion="ramen", challenger="pho")
    agreeing = disagreement(champion="salad", challenger="salad")

    page = staff_client.get("/mlops/shadow/").content.decode()

    assert f'id="disagreement-{corrected.pk}"' in page and f'id="disagreement-{quiet.pk}"' in page
    assert f'id="disagreement-{agreeing.pk}"' not in page
    card = page[page.index(f'id="disagreement-{corrected.pk}"') :]
    assert "Champion v1: <strong>Pizza</strong> (72 %)" in card
    assert "Challenger v2: <strong>Flatbread</strong> (64 %)" in card
    assert "The user said: <strong>Sushi</strong>" in card
    assert f"/mlops/predictions/{corrected.prediction_id}/thumbnail.jpg" in card
    assert "agreed on\n    <strong>33 %</strong> of 3 photos" in page


def test_a_verdict_records_the_right_answer_as_a_label(staff_client):
    champion_right = disagreement(champion="pizza", challenger="flatbread")
    challenger_right = disagreement(champion="ramen", challenger="pho")
    neither = disagreement(champion="salad", challenger="soup")

    for row, verdict in ((champion_right, "champion"), (challenger_right, "challenger"), (neither, "neither")):
        response = staff_client.post(f"/mlops/shadow/{row.pk}/review", {"verdict": verdict, "next": "/mlops/shadow/?unreviewed=1"})
        assert response.status_code == 302 and response["Location"] == "/mlops/shadow/?unreviewed=1"
    refused = staff_client.post(f"/mlops/shadow/{neither.pk}/review", {"verdict": "both"})

    assert refused.status_code == 400 and "The verdict must be one of" in refused.content.decode()
    labels = {label.prediction_id: (label.food_key, label.source, label.user.username) for label in Label.objects.all()}
    assert labels == {
        champion_right.prediction_id: ("pizza", "shadow_review", "ops"),
        challenger_right.prediction_id: ("pho", "shadow_review", "ops"),
    }
    assert list(ShadowPrediction.objects.order_by("pk").values_list("verdict", flat=True)) == ["champion", "challenger", "neither"]
    unreviewed = staff_client.get("/mlops/shadow/?unreviewed=1").content.decode()
    assert "disagreement-" not in unreviewed


def test_the_shadow_page_and_its_verdicts_are_for_staff_only(member_client):
    row = disagreement(champion="pizza", challenger="flatbread")
    assert member_client.get("/mlops/shadow/").status_code == 302
    assert member_client.post(f"/mlops/shadow/{row.pk}/review", {"verdict": "champion"}).status_code == 302
    assert not Label.objects.exists() and ShadowPrediction.objects.get().verdict == ""
