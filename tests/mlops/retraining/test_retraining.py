"""Retraining: its triggers, the check (cooldown, enough new labels), and a retraining end to end on generated shapes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from mlops.jobs import Job
from mlops.mlflow_store import registry
from mlops.models import Alert, DriftReport, JobRun, PromotionRecord
from mlops.retraining import services
from mlops.retraining.models import RetrainRun
from mlops.retraining.triggers import retrain_triggers
from mlops.services import bundled_model_register
from mlops.training import TrainingConfig
from tests.mlops.factories import food_make, predictions_make
from tests.mlops.shapes import write_shapes_dataset
from tests.support.labelled import labelled_shapes_make
from tests.support.promotion import evaluation_make

pytestmark = pytest.mark.django_db

TINY = TrainingConfig(image_size=64, views=1, head_epochs=15, epochs=0, unfreeze_blocks=0, batch_size=32, threads=2, workers=0)


def drift_report_make(*, drift: bool) -> DriftReport:
    now = timezone.now()
    return DriftReport.objects.create(
        baseline_start=now - timedelta(days=35),
        baseline_end=now - timedelta(days=7),
        recent_start=now - timedelta(days=7),
        recent_end=now,
        drift_detected=drift,
        verdict="drift" if drift else "no_drift",
        scheduled=True,
        results={"drifting_checks": ["embedding"] if drift else []},
    )


def feedback_make(*, baseline_correct: int, recent_correct: int, each: int = 40) -> None:
    """``each`` confirmed-or-corrected predictions 20 days ago and 2 days ago, the given number of them right."""
    pizza, sushi = food_make("pizza"), food_make("sushi")
    for days_ago, correct in ((20, baseline_correct), (2, recent_correct)):
        at = timezone.now() - timedelta(days=days_ago)
        predictions_make(correct, at=at, food=pizza, feedback_correct=True)
        predictions_make(each - correct, at=at, food=pizza, feedback_correct=False, feedback_food=sushi)


def test_a_significant_fall_of_feedback_accuracy_is_a_trigger_and_a_small_one_is_not():
    feedback_make(baseline_correct=36, recent_correct=34)
    assert retrain_triggers(now=timezone.now())[0] == []

    feedback_make(baseline_correct=36, recent_correct=10)
    (trigger,) = retrain_triggers(now=timezone.now())[0]
    assert trigger["kind"] == "feedback_accuracy" and trigger["figures"]["p_value"] < 0.05
    assert "fell from 90.0% (80 labels) to 55.0% (80 labels)" in trigger["detail"]


def test_drift_in_the_latest_scheduled_report_and_a_falling_estimate_are_triggers():
    drift_report_make(drift=True)
    drift_report_make(drift=False)  # the latest one rules
    assert retrain_triggers(now=timezone.now())[0] == []

    report = drift_report_make(drift=True)
    predictions_make(40, at=timezone.now() - timedelta(days=20), food=food_make("pizza"), confidence=0.9)
    predictions_make(40, at=timezone.now() - timedelta(days=2), food=food_make("pizza"), confidence=0.7)

    triggers, latest = retrain_triggers(now=timezone.now())
    assert latest == report
    assert [trigger["kind"] for trigger in triggers] == ["drift", "accuracy_estimate"]
    assert triggers[0]["report_id"] == report.pk


def test_the_check_waits_for_enough_new_labels_and_for_the_cooldown(settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.NUTRILEARN_RETRAIN_MIN_NEW_LABELS = 4
    published = []
    monkeypatch.setattr(services, "_publish", published.append)
    drift_report_make(drift=True)
    labelled_shapes_make(per_class=1, shapes=("red_disc", "blue_square", "green_triangle"))

    assert services.retrain_check() is None
    labelled_shapes_make(per_class=1, shapes=("yellow_cross",))
    with django_capture_on_commit_callbacks(execute=True):
        run = services.retrain_check()
    assert published == [run.pk]
    assert (run.status, run.drift_report.verdict, [t["kind"] for t in run.triggers]) == ("pending", "drift", ["drift"])

    labelled_shapes_make(per_class=2)
    assert services.retrain_check() is None  # cooldown
    RetrainRun.objects.filter(pk=run.pk).update(status=RetrainRun.Status.FAILED)
    assert services.retrain_check() is None  # a failed retraining counts for the cooldown too
    RetrainRun.objects.filter(pk=run.pk).update(status=RetrainRun.Status.PENDING)
    assert list(JobRun.objects.filter(name=Job.RETRAIN_CHECK).values_list("items", flat=True)) == [1]  # skipped checks leave no row

    RetrainRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=30))
    with django_capture_on_commit_callbacks(execute=True):
        second = services.retrain_check()
    assert second is not None
    assert published == [run.pk, run.pk, second.pk]  # the first, still pending after 30 hours, was published again


@pytest.mark.integration
@pytest.mark.slow
def test_drift_and_degraded_feedback_retrain_a_challenger_that_is_evaluated_and_alerted_but_not_promoted(
    served_from_registry, tmp_path, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.NUTRILEARN_RETRAIN_BASE_DATASET = str(write_shapes_dataset(tmp_path / "base", per_class=6, size=64))
    settings.NUTRILEARN_RETRAIN_MIN_NEW_LABELS = 20
    monkeypatch.setattr(services, "_publish", lambda run_id: None)  # the worker's part is called below
    bundled_model_register()
    drift_report_make(drift=True)
    feedback_make(baseline_correct=36, recent_correct=12)
    labels = labelled_shapes_make(per_class=6, seed=5)

    with django_capture_on_commit_callbacks(execute=True):
        run = services.retrain_check()
    services.retrain_execute(run_id=run.pk, config=TINY)

    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    # The labelled photos are recent low-confidence answers, so the label-free estimate fell too.
    assert [trigger["kind"] for trigger in run.triggers] == ["drift", "feedback_accuracy", "accuracy_estimate"]
    assert (run.model_version, run.champion_version) == ("2", "1")
    assert run.label_ids == sorted(label.pk for label in labels)
    assert run.image_count == 4 * 6 + 4 * 6 and len(run.images_sha256) == 64
    assert registry.alias_resolve("challenger").version == "2"
    assert registry.alias_resolve("champion").version == "1"  # never promoted by itself
    challenger, champion = run.challenger_evaluation, run.champion_evaluation
    assert (challenger.model_version, champion.model_version) == ("2", "1")
    assert challenger.sample_count == champion.sample_count > 0
    assert challenger.accuracy > champion.accuracy
    alert = Alert.objects.get(status="open")
    assert alert == run.alert and alert.rule.name == "Retrained challenger ready"
    assert "registered version 2 as challenger" in alert.message and "/mlops/models/?version=2" in alert.message
    assert f"{champion.accuracy:.1%}" in alert.message and "drift report" in alert.message
    assert JobRun.objects.get(name=Job.RETRAIN).status == "succeeded"

    assert services.retrain_execute(run_id=run.pk, config=TINY) is None  # a duplicate message does nothing


def evaluated_run(
    *, challenger_version: str, champion_version: str = "1", challenger_right: int = 32, champion_right: int = 24
) -> RetrainRun:
    """A retraining whose challenger is registered and evaluated on the same 40 photos (as ``_retrain`` leaves it), to conclude."""
    return RetrainRun.objects.create(
        status=RetrainRun.Status.RUNNING,
        model_version=challenger_version,
        champion_version=champion_version,
        challenger_evaluation=evaluation_make(version=challenger_version, right=challenger_right, wrong=40 - challenger_right),
        champion_evaluation=evaluation_make(version=champion_version, right=champion_right, wrong=40 - champion_right),
    )


@pytest.mark.integration
@pytest.mark.slow
def test_auto_promotion_goes_through_the_guardrail_and_its_refusal_is_recorded(
    served_from_registry, tmp_path, settings, nudged_state_dict, broken_state_dict
):
    from tests.support.registry import register_variant

    bundled_model_register()
    working = register_variant(tmp_path / "working", nudged_state_dict, aliases=("challenger",))
    broken = register_variant(tmp_path / "broken", broken_state_dict)

    kept = services.retrain_conclude(run=evaluated_run(challenger_version=working.version))
    assert (kept.status, kept.promoted, registry.alias_resolve("champion").version) == ("succeeded", False, "1")

    settings.NUTRILEARN_RETRAIN_AUTO_PROMOTE = True
    refused = services.retrain_conclude(run=evaluated_run(challenger_version=broken.version))
    assert (refused.promoted, registry.alias_resolve("champion").version) == (False, "1")
    assert "does not load" in refused.details["promotion_refused"]
    worse = services.retrain_conclude(run=evaluated_run(challenger_version=working.version, challenger_right=10, champion_right=30))
    assert (worse.promoted, registry.alias_resolve("champion").version) == (False, "1")
    assert "override" in worse.details["promotion_refused"]
    promoted = services.retrain_conclude(run=evaluated_run(challenger_version=working.version))
    assert (promoted.promoted, registry.alias_resolve("champion").version) == (True, working.version)
    assert Alert.objects.filter(status="open").get() == promoted.alert  # each conclusion supersedes the previous alert
    assert "accuracy 80.0%" in promoted.alert.message and "60.0%" in promoted.alert.message
    assert PromotionRecord.objects.get().actor_name == "retraining"
