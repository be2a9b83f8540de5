"""The labelled set: users' feedback as labels (and the backfill of older feedback), staff labels, the queue's order, the page."""

import importlib

import pytest
from django.apps import apps

from mlops.labelling.models import Label
from mlops.labelling.selectors import labelling_queue, labels_effective
from mlops.labelling.services import LabelInvalid, label_record
from mlops.shadow.models import ShadowPrediction
from predictions.models import NO_FOOD_LABEL
from predictions.services import FeedbackInvalid, prediction_feedback_set
from tests.mlops.factories import food_make, predictions_make
from tests.support.labelled import staff_user, stored_photo
from tests.support.ops_data import photo_bytes

pytestmark = pytest.mark.django_db


def photo_prediction(*, top_k=(("pizza", 0.9),), no_food=False, food_mass=0.9, **fields):
    foods = {key: food_make(key) for key, _ in top_k}
    first = None if no_food or not top_k else foods[top_k[0][0]]
    (prediction,) = predictions_make(
        food=first,
        confidence=None if no_food else top_k[0][1],
        top_k=[{"food": key, "confidence": confidence} for key, confidence in top_k],
        no_food=no_food,
        food_mass=food_mass,
        **fields,
    )
    return stored_photo(prediction, photo_bytes((120, 90, 60)))


def test_feedback_becomes_the_users_one_label_and_a_new_answer_replaces_it():
    sushi = food_make("sushi")
    prediction = photo_prediction(top_k=(("pizza", 0.95),))

    prediction_feedback_set(prediction=prediction, correct=True)
    prediction_feedback_set(prediction=prediction, correct=False, food_key=sushi.key)

    (label,) = Label.objects.filter(prediction=prediction)
    assert (label.source, label.food_key, label.food, label.user) == (Label.Source.USER_FEEDBACK, "sushi", sushi, None)


def test_the_choice_for_an_unsure_answer_is_its_own_source_and_a_typed_name_is_keyed_like_the_catalogue():
    prediction = photo_prediction(top_k=(("pizza", 0.3), ("salad", 0.2)))

    prediction_feedback_set(prediction=prediction, correct=False, food_text="Bibimbap Bowl")

    label = Label.objects.get(prediction=prediction)
    assert (label.source, label.food_key, label.food_text, label.food) == (
        Label.Source.UNSURE_CHOICE,
        "bibimbap_bowl",
        "Bibimbap Bowl",
        None,
    )


def test_confirmed_no_food_is_a_not_food_label_and_refused_feedback_stores_no_label():
    prediction = photo_prediction(top_k=(), no_food=True, food_mass=0.02)
    prediction_feedback_set(prediction=prediction, correct=True)
    assert Label.objects.get(prediction=prediction).not_food

    other = photo_prediction()
    with pytest.raises(FeedbackInvalid):
        prediction_feedback_set(prediction=other, correct=False, food_key="no_such_food")
    assert not Label.objects.filter(prediction=other).exists()


def test_the_backfill_turns_earlier_feedback_into_labels_once():
    pizza, sushi = food_make("pizza"), food_make("sushi")
    predictions_make(2, food=pizza, confidence=0.95, feedback_correct=True)
    predictions_make(1, food=pizza, confidence=0.4, feedback_correct=False, feedback_food=sushi)
    predictions_make(1, food=None, confidence=None, no_food=True, feedback_correct=True)
    predictions_make(1, food=pizza, confidence=0.95, feedback_correct=False, feedback_text="Crab cakes")
    predictions_make(3, food=pizza)  # no feedback, no label
    migration = importlib.import_module("mlops.migrations.0010_lifecycle_labels")

    migration.feedback_to_labels(apps, None)
    migration.feedback_to_labels(apps, None)

    rows = sorted(Label.objects.values_list("source", "food_key"))
    assert rows == [
        ("unsure_choice", "sushi"),
        ("user_feedback", "crab_cakes"),
        ("user_feedback", NO_FOOD_LABEL),
        ("user_feedback", "pizza"),
        ("user_feedback", "pizza"),
    ]


def test_a_staff_label_names_a_catalogue_food_or_not_food_and_outranks_the_users_answer():
    food_make("sushi")
    prediction = photo_prediction()
    prediction_feedback_set(prediction=prediction, correct=True)
    staff = staff_user()
    for wrong in ({"food_key": "unknown"}, {"food_key": "sushi", "not_food": True}, {}):
        with pytest.raises(LabelInvalid):
            label_record(prediction=prediction, source=Label.Source.STAFF_QUEUE, user=staff, **wrong)

    label_record(prediction=prediction, source=Label.Source.STAFF_QUEUE, user=staff, food_key="sushi")

    (standing,) = labels_effective()
    assert (standing.food_key, standing.source, standing.user) == ("sushi", Label.Source.STAFF_QUEUE, staff)


def test_the_queue_puts_the_most_valuable_label_first_and_leaves_labelled_photos_out():
    confident = photo_prediction(top_k=(("pizza", 0.97), ("salad", 0.01)))
    narrow = photo_prediction(top_k=(("pizza", 0.40), ("salad", 0.38)))
    clear_but_low = photo_prediction(top_k=(("pizza", 0.60), ("salad", 0.05)))
    borderline_no_food = photo_prediction(top_k=(), no_food=True, food_mass=0.09)
    disputed = photo_prediction(top_k=(("pizza", 0.99), ("salad", 0.005)))
    ShadowPrediction.objects.create(prediction=disputed, model_name="m", model_version="2", food=food_make("salad"), agrees=False)
    labelled = photo_prediction(top_k=(("pizza", 0.30), ("salad", 0.30)))
    prediction_feedback_set(prediction=labelled, correct=True)
    predictions_make(food=food_make("pizza"), top_k=[{"food": "pizza", "confidence": 0.3}])  # no photo: nothing to look at

    order = [item.prediction.pk for item in labelling_queue()]

    assert order == [disputed.pk, narrow.pk, borderline_no_food.pk, clear_but_low.pk, confident.pk]
    assert [item.prediction.pk for item in labelling_queue(exclude_ids=frozenset({disputed.pk}))][0] == narrow.pk


def test_staff_label_from_the_queue_page_with_one_post_each(staff_client):
    first = photo_prediction(top_k=(("pizza", 0.4), ("salad", 0.35)))
    second = photo_prediction(top_k=(("pizza", 0.5), ("salad", 0.1)))

    page = staff_client.get("/mlops/labelling/")
    assert page.status_code == 200
    assert page.content.decode().index(f'id="queue-{first.pk}"') < page.content.decode().index(f'id="queue-{second.pk}"')

    answer = staff_client.post(f"/mlops/labelling/{first.pk}/label", {"food": "salad"}, HTTP_ACCEPT="application/json")
    assert answer.json()["label"]["food_key"] == "salad"
    refused = staff_client.post(f"/mlops/labelling/{second.pk}/label", {"food": "no such food"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and "Unknown food" in refused.json()["message"]
    skipped = staff_client.post(f"/mlops/labelling/{second.pk}/label", {"skip": "1"})
    assert skipped.status_code == 302

    after = staff_client.get("/mlops/labelling/").content.decode()
    assert f'id="queue-{first.pk}"' not in after and f'id="queue-{second.pk}"' not in after
    label = Label.objects.get()
    assert (label.prediction_id, label.source, label.user.username) == (first.pk, Label.Source.STAFF_QUEUE, "ops")


def test_the_queue_is_for_staff_only(member_client):
    prediction = photo_prediction()
    assert member_client.get("/mlops/labelling/").status_code == 302
    assert member_client.post(f"/mlops/labelling/{prediction.pk}/label", {"not_food": "1"}).status_code == 302
    assert not Label.objects.exists()
