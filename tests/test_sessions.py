"""The session store writes an anonymous uploader's new session once, and still every change."""

import pytest
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from nutrilearn import sessions
from nutrilearn.sessions import SessionStore
from predictions.models import Prediction
from tests.predictions.test_api import upload


def session_queries(queries) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if "django_session" in query["sql"]]


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_upload_creates_its_session_with_one_insert_and_the_owner_keeps_it(client, catalogue, coffee_png):
    with CaptureQueriesContext(connection) as queries:
        response = upload(client, coffee_png)

    assert response.status_code == 201
    written = session_queries(queries)
    assert len(written) == 1 and written[0].startswith("INSERT"), written
    key = client.cookies["sessionid"].value
    assert Prediction.objects.get().session_key == key
    assert Session.objects.filter(session_key=key).exists()
    # The cookie identifies the owner on the next request.
    prediction_id = response.json()["prediction"]["id"]
    assert client.get(f"/api/v1/predictions/{prediction_id}").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_new_key_that_is_taken_is_drawn_again(monkeypatch):
    taken = SessionStore()
    taken["owner"] = "first"
    taken.create()
    keys = iter([taken.session_key, "k" * 32])
    monkeypatch.setattr(sessions, "get_random_string", lambda length, chars: next(keys))

    store = SessionStore()
    store["owner"] = "second"
    store.create()

    assert store.session_key == "k" * 32
    assert SessionStore(taken.session_key).load() == {"owner": "first"}
    assert SessionStore("k" * 32).load() == {"owner": "second"}


@pytest.mark.django_db
def test_a_taken_key_inside_a_transaction_leaves_the_transaction_usable(monkeypatch):
    taken = SessionStore()
    taken.create()
    keys = iter([taken.session_key, "t" * 32])
    monkeypatch.setattr(sessions, "get_random_string", lambda length, chars: next(keys))

    with transaction.atomic():
        store = SessionStore()
        store.create()
        assert Session.objects.count() == 2

    assert store.session_key == "t" * 32


@pytest.mark.django_db(transaction=True)
def test_an_unchanged_session_is_not_written_again_and_a_changed_one_is():
    store = SessionStore()
    store["basket"] = ["pizza"]
    store.save()

    with CaptureQueriesContext(connection) as unchanged:
        store.save()
    store["basket"].append("soup")  # a change inside a value, flagged as Django asks
    store.modified = True
    with CaptureQueriesContext(connection) as changed:
        store.save()

    assert session_queries(unchanged) == []
    assert any(sql.startswith("UPDATE") for sql in session_queries(changed))
    assert SessionStore(store.session_key).load() == {"basket": ["pizza", "soup"]}


@pytest.mark.django_db(transaction=True)
def test_a_session_read_from_the_database_is_written_when_it_changes():
    first = SessionStore()
    first["seen"] = 1
    first.create()

    later = SessionStore(first.session_key)  # the next request
    later["seen"] = 2
    later.save()

    assert SessionStore(first.session_key).load() == {"seen": 2}


@pytest.mark.django_db
def test_the_hourly_task_deletes_expired_sessions_in_batches_and_keeps_live_ones(monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from mlops.models import JobRun
    from predictions.tasks import expired_sessions_clear

    monkeypatch.setattr(sessions, "CLEAR_BATCH", 3)
    live = SessionStore()
    live.create()
    Session.objects.bulk_create(
        Session(session_key=f"expired{index:025d}", session_data="e30", expire_date=timezone.now() - timedelta(minutes=1))
        for index in range(7)
    )

    assert expired_sessions_clear.apply().get() == 7
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert JobRun.objects.get(name="expired_sessions_clear").items == 7
    assert expired_sessions_clear.apply().get() == 0
