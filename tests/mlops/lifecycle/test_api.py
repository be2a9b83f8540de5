"""The promotion endpoints: permission, reason required, refusals as 409, the audit trail and serving processes."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from mlops.mlflow_store import registry
from mlops.models import ModelEvent, PromotionRecord, ServingProcess
from tests.support.promotion import evaluation_make

pytestmark = pytest.mark.django_db

PROMOTE = "/api/v1/mlops/promotion/promote"
ROLLBACK = "/api/v1/mlops/promotion/rollback"


@pytest.fixture
def promoter_client(client, promoter):
    client.force_login(promoter)
    return client


def test_staff_without_the_permission_get_403_saying_which_permission(client, versions):
    client.force_login(get_user_model().objects.create_user("ops", is_staff=True))

    for path, body in ((PROMOTE, {"version": "2", "reason": "r", "override": True}), (ROLLBACK, {"reason": "r"})):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "promotion_forbidden"
        assert "mlops.promote_model" in response.json()["error"]["message"]
    assert registry.aliases_get()["champion"] == "1"


def test_a_promotion_without_a_reason_is_400_and_nothing_moves(promoter_client, versions):
    response = promoter_client.post(PROMOTE, {"version": "2", "reason": "  ", "override": True}, content_type="application/json")

    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    assert registry.aliases_get()["champion"] == "1" and not PromotionRecord.objects.exists()


def test_a_worse_challenger_is_409_with_the_guardrail_verdict(promoter_client, versions):
    evaluation_make(version="1", right=90, wrong=10)
    evaluation_make(version="2", right=60, wrong=40)

    check = promoter_client.get("/api/v1/mlops/promotion/check", {"version": "2"}).json()["evidence"]
    response = promoter_client.post(PROMOTE, {"version": "2", "reason": "r"}, content_type="application/json")

    assert (check["promotable"], check["comparison"]["challenger_only_right"], check["comparison"]["champion_only_right"]) == (False, 0, 30)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "guardrail_refused"
    assert "Worse" in response.json()["error"]["message"]


def test_promote_then_rollback_answer_201_with_their_audit_rows(promoter_client, versions):
    evaluation_make(version="1", right=80, wrong=20)
    evaluation_make(version="2", right=81, wrong=19)

    promoted = promoter_client.post(
        PROMOTE, {"version": "2", "reason": "better", "expected_champion": "1"}, content_type="application/json"
    )
    stale = promoter_client.post(ROLLBACK, {"reason": "oops", "expected_champion": "1"}, content_type="application/json")
    rolled_back = promoter_client.post(ROLLBACK, {"reason": "oops", "expected_champion": "2"}, content_type="application/json")

    assert promoted.status_code == 201, promoted.json()
    assert promoted.json()["record"]["kind"] == "promote"
    assert promoted.json()["record"]["evidence"]["comparison"]["images"] == 100
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "champion_changed")
    assert rolled_back.status_code == 201
    records = promoter_client.get("/api/v1/mlops/promotion/records").json()["records"]
    assert [(r["kind"], r["from_version"], r["to_version"], r["actor_name"]) for r in records] == [
        ("rollback", "2", "1", "promoter"),
        ("promote", "1", "2", "promoter"),
    ]


def test_serving_processes_are_listed_with_the_one_off_the_champion_flagged(promoter_client, versions, settings):
    settings.NUTRILEARN_MODEL_POLL_SECONDS = 30
    now = timezone.now()
    for pid, version in ((101, "1"), (102, "2")):
        ServingProcess.objects.create(
            hostname="web-a", pid=pid, role="web", alias="champion", model_version=version, switched_at=now, last_seen=now
        )

    just_moved = promoter_client.get("/api/v1/mlops/serving-processes").json()
    ModelEvent.objects.update(created_at=now - timedelta(seconds=61))  # the champion moved two intervals ago
    settled = promoter_client.get("/api/v1/mlops/serving-processes").json()

    assert settled["champion"] == "1"
    assert [(p["pid"], p["on_champion"], p["flag"]) for p in just_moved["processes"]] == [(101, True, ""), (102, False, "")]
    assert [(p["pid"], p["on_champion"], p["flag"]) for p in settled["processes"]] == [(101, True, ""), (102, False, "behind")]


def test_checking_an_unknown_version_is_404(promoter_client, versions):
    response = promoter_client.get("/api/v1/mlops/promotion/check", {"version": "99"})

    assert (response.status_code, response.json()["error"]["code"]) == (404, "mlflow_not_found")
