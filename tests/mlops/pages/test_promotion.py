"""Promoting and rolling back from the Models page: permission, confirmation with the guardrail's evidence, reason required."""

import pytest
from django.utils import timezone

from mlops.mlflow_store import registry
from mlops.models import PromotionRecord, ServingProcess
from tests.support.promotion import evaluation_make, promoter_make, versions_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(mlflow_client, tmp_path, nudged_state_dict):
    return versions_register(tmp_path, nudged_state_dict)


@pytest.fixture
def promoter_client(client, db):
    client.force_login(promoter_make())
    return client


def test_staff_without_the_permission_see_no_controls_and_get_403_naming_it(staff_client, versions):
    page = staff_client.get("/mlops/models/").content.decode()
    confirm = staff_client.get("/mlops/models/promote/", {"version": "2"})
    post = staff_client.post("/mlops/models/rollback/", {"reason": "r"})

    assert 'id="promotion-permission-note"' in page and 'id="promote-pick"' not in page
    assert confirm.status_code == 403 and "mlops.promote_model" in confirm.content.decode()
    assert post.status_code == 403
    assert registry.aliases_get()["champion"] == "1"


def test_members_are_sent_to_log_in(member_client):
    assert member_client.get("/mlops/models/promote/", {"version": "2"}).status_code == 302


def test_the_models_page_lists_serving_processes_and_offers_the_other_versions(promoter_client, versions, settings):
    settings.NUTRILEARN_MODEL_POLL_SECONDS = 30
    now = timezone.now()
    ServingProcess.objects.create(hostname="web-a", pid=7, role="web", alias="champion", model_version="1", switched_at=now, last_seen=now)

    page = promoter_client.get("/mlops/models/").content.decode()

    assert '<option value="2">2</option>' in page
    assert "web-a:7" in page and '<span class="pill succeeded">ok</span>' in page


def test_the_confirmation_shows_the_guardrail_verdict_and_offers_an_override_only_when_refused(promoter_client, versions):
    evaluation_make(version="1", right=90, wrong=10)
    evaluation_make(version="2", right=60, wrong=40)

    page = promoter_client.get("/mlops/models/promote/", {"version": "2"}).content.decode()

    assert "Worse: on 100 shared images" in page
    assert 'id="id_override"' in page
    assert '<td class="num">30</td><td class="num">0</td>' in page  # photos only the champion / only v2 gets right


def test_a_promotion_without_a_reason_is_refused_and_nothing_moves(promoter_client, versions):
    response = promoter_client.post("/mlops/models/promote/", {"version": "2", "expected_champion": "1", "reason": " ", "override": "on"})

    assert response.status_code == 400
    assert "Give a reason" in response.content.decode()
    assert registry.aliases_get()["champion"] == "1" and not PromotionRecord.objects.exists()


def test_a_refused_promotion_says_why_and_an_override_with_a_reason_goes_through(promoter_client, versions):
    evaluation_make(version="1", right=90, wrong=10)
    evaluation_make(version="2", right=60, wrong=40)
    form = {"version": "2", "expected_champion": "1", "reason": "the held-out set is outdated"}

    refused = promoter_client.post("/mlops/models/promote/", form)
    overridden = promoter_client.post("/mlops/models/promote/", {**form, "override": "on"}, follow=True)

    assert refused.status_code == 409 and 'id="promotion-refusal"' in refused.content.decode()
    assert registry.aliases_get()["champion"] == "2"
    page = overridden.content.decode()
    assert "Version 2 is the champion over the guardrail (was 1)." in page
    assert "the held-out set is outdated" in page
    record = PromotionRecord.objects.get()
    assert (record.kind, record.actor_name, record.evidence["comparison"]["champion_only_right"]) == ("override", "promoter", 30)


def test_rollback_confirms_the_target_and_records_the_reason(promoter_client, versions):
    nothing = promoter_client.get("/mlops/models/rollback/").content.decode()
    evaluation_make(version="1", right=8, wrong=2)
    evaluation_make(version="2", right=8, wrong=2)
    promoter_client.post("/mlops/models/promote/", {"version": "2", "expected_champion": "1", "reason": "same accuracy, newer data"})

    confirm = promoter_client.get("/mlops/models/rollback/").content.decode()
    done = promoter_client.post("/mlops/models/rollback/", {"expected_champion": "2", "reason": "complaints"})

    assert "Nothing to roll back to" in nothing
    assert "Roll back from version 2 to version 1?" in confirm
    assert done.status_code == 302
    assert registry.aliases_get()["champion"] == "1"
    assert list(PromotionRecord.objects.values_list("kind", "reason")) == [
        ("rollback", "complaints"),
        ("promote", "same accuracy, newer data"),
    ]
