"""Promoting and rolling back through the one service: guardrail, override, load check, permission and audit rows."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from mlops.lifecycle.promotion import (
    ChampionChanged,
    GuardrailRefused,
    PromotionForbidden,
    ReasonMissing,
    VersionUnloadable,
    model_version_promote,
    model_version_rollback,
)
from mlops.mlflow_store import registry
from mlops.models import ModelEvent, PromotionRecord
from mlops.services import PromotionRefused
from tests.support.promotion import evaluation_make, versions_register

pytestmark = [pytest.mark.django_db, pytest.mark.integration]  # a real MLflow store and real model loads, as the registry tests


def test_a_challenger_not_worse_on_the_same_images_is_promoted_with_an_audit_row(versions, promoter):
    evaluation_make(version="1", right=80, wrong=20)
    evaluation_make(version="2", right=82, wrong=18)

    record = model_version_promote(version="2", actor=promoter, reason="better on the held-out set")

    assert registry.aliases_get()["champion"] == "2"
    assert (record.kind, record.from_version, record.to_version, record.actor, record.actor_name) == (
        "promote",
        "1",
        "2",
        promoter,
        "promoter",
    )
    assert record.reason == "better on the held-out set"
    assert record.evidence["promotable"] is True
    assert record.evidence["comparison"]["images"] == 100
    assert record.evidence["load_check"] == "passed"
    assert ModelEvent.objects.filter(kind="promoted", model_version="2").exists()


def test_a_significantly_worse_challenger_is_refused_and_nothing_moves(versions, promoter):
    evaluation_make(version="1", right=90, wrong=10)
    evaluation_make(version="2", right=60, wrong=40)

    with pytest.raises(GuardrailRefused, match="Worse: on 100 shared images") as refused:
        model_version_promote(version="2", actor=promoter, reason="try it")

    assert refused.value.evidence.comparison["champion_only_right"] == 30
    assert registry.aliases_get()["champion"] == "1"
    assert not PromotionRecord.objects.exists()


def test_an_override_promotes_a_refused_version_and_records_the_reason_and_evidence(versions, promoter):
    evaluation_make(version="1", right=90, wrong=10)
    evaluation_make(version="2", right=60, wrong=40)

    record = model_version_promote(version="2", actor=promoter, reason="the held-out set predates the new menu", override=True)

    assert registry.aliases_get()["champion"] == "2"
    assert record.kind == "override"
    assert record.evidence["promotable"] is False and record.evidence["overridden"] is True
    assert record.evidence["message"].startswith("Worse:")


def test_without_evaluations_on_a_shared_set_the_refusal_says_what_to_run(versions, promoter):
    with pytest.raises(GuardrailRefused, match=r"manage.py evaluate --version 2 --dataset DIR"):
        model_version_promote(version="2", actor=promoter, reason="r")

    evaluation_make(version="2", right=5, wrong=0, tta=False)
    with pytest.raises(GuardrailRefused, match=r"manage.py evaluate --version 1 --dataset held-out --no-tta"):
        model_version_promote(version="2", actor=promoter, reason="r")


def test_a_version_that_fails_its_smoke_test_is_never_promotable_not_even_with_an_override(
    db, mlflow_client, tmp_path, nudged_state_dict, broken_state_dict, promoter
):
    versions_register(tmp_path, nudged_state_dict, also={"broken": broken_state_dict})

    with pytest.raises(VersionUnloadable, match="non-finite"):
        model_version_promote(version="3", actor=promoter, reason="override everything", override=True)

    assert registry.aliases_get()["champion"] == "1"
    assert not PromotionRecord.objects.exists()


def test_staff_without_the_permission_and_an_empty_reason_are_refused(versions, promoter):
    staff = get_user_model().objects.create_user("staff", is_staff=True)
    evaluation_make(version="1", right=8, wrong=2)
    evaluation_make(version="2", right=8, wrong=2)

    with pytest.raises(PromotionForbidden, match="mlops.promote_model"):
        model_version_promote(version="2", actor=staff, reason="I am staff")
    with pytest.raises(ReasonMissing):
        model_version_promote(version="2", actor=promoter, reason="   ")
    assert registry.aliases_get()["champion"] == "1"


def test_a_champion_moved_since_the_caller_looked_is_a_refusal(versions, promoter):
    with pytest.raises(ChampionChanged, match="now version 1"):
        model_version_promote(version="2", actor=promoter, reason="r", override=True, expected_champion="2")


def test_rollback_returns_to_the_replaced_champion_with_its_own_audit_row(versions, promoter):
    model_version_promote(version="2", actor=promoter, reason="first", override=True)

    record = model_version_rollback(actor=promoter, reason="users report worse answers")

    assert registry.aliases_get()["champion"] == "1"
    assert (record.kind, record.from_version, record.to_version) == ("rollback", "2", "1")
    assert list(PromotionRecord.objects.values_list("kind", flat=True)) == ["rollback", "override"]


def test_rollback_without_an_earlier_champion_is_refused(versions, promoter):
    with pytest.raises(PromotionRefused, match="No earlier champion"):
        model_version_rollback(actor=promoter, reason="r")


def test_the_cli_goes_through_the_guardrail_and_records_cli_as_the_actor(versions):
    with pytest.raises(CommandError, match="--override"):
        call_command("promote", "--version", "2", "--reason", "from a terminal", stdout=io.StringIO())

    call_command("promote", "--version", "2", "--reason", "from a terminal", "--override", stdout=io.StringIO())
    call_command("rollback", "--reason", "back again", stdout=io.StringIO())

    assert list(PromotionRecord.objects.values_list("kind", "actor_name", "actor")) == [
        ("rollback", "cli", None),
        ("override", "cli", None),
    ]
    assert registry.aliases_get()["champion"] == "1"
