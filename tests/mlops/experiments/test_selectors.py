"""Results per arm from the Prediction table: the figures, the tests and the verdict, in a bounded number of queries."""

import pytest
from django.utils import timezone

from mlops import percentiles
from mlops.experiments.models import Experiment
from mlops.experiments.selectors import experiment_results, experiment_shown
from mlops.experiments.statistics import Verdict, wilson_interval
from predictions.models import Prediction
from tests.mlops.factories import food_make, predictions_make

pytestmark = pytest.mark.django_db


def running_experiment(**fields) -> Experiment:
    values = {"champion_version": "1", "challenger_version": "2", "challenger_share": 0.5, "status": Experiment.Status.RUNNING} | fields
    return Experiment.objects.create(**values)


def arm_rows(experiment, arm, *, version, count=1, **fields):
    return predictions_make(count, ab_experiment=experiment, ab_arm=arm, model_version=version, food=food_make("pizza"), **fields)


def test_each_arm_gets_its_own_figures():
    experiment = running_experiment()
    champion_latencies = [0.10, 0.12, 0.14, 0.30]
    for latency in champion_latencies:
        arm_rows(experiment, "champion", version="1", latency=latency, confidence=0.9)
    arm_rows(experiment, "champion", version="1", no_food=True, confidence=0.2, latency=0.11)
    arm_rows(experiment, "champion", version="1", status=Prediction.Status.FAILED, latency=0.5)
    arm_rows(experiment, "challenger", version="2", count=3, confidence=0.6, latency=0.2, feedback_correct=True)
    arm_rows(experiment, "challenger", version="2", count=1, confidence=0.6, latency=0.2, feedback_correct=False)

    arms = {arm["arm"]: arm for arm in experiment_results(experiment=experiment)["arms"]}

    champion, challenger = arms["champion"], arms["challenger"]
    assert (champion["requests"], champion["predictions"], champion["error_count"]) == (6, 5, 1)
    assert champion["error_rate"] == pytest.approx(1 / 6)
    assert champion["average_confidence"] == pytest.approx((4 * 0.9 + 0.2) / 5)
    assert champion["no_food_share"] == pytest.approx(1 / 5)
    ok_latencies = [*champion_latencies, 0.11]
    assert champion["latency_p50_seconds"] == pytest.approx(percentiles.percentile(ok_latencies, 0.5))
    assert champion["latency_p95_seconds"] == pytest.approx(percentiles.percentile(ok_latencies, 0.95))
    assert (champion["labelled"], champion["accuracy"], champion["accuracy_ci95"]) == (0, None, None)
    assert (challenger["labelled"], challenger["correct"], challenger["accuracy"]) == (4, 3, 0.75)
    assert challenger["accuracy_ci95"] == pytest.approx(list(wilson_interval(3, 4)))
    assert (champion["versions"], challenger["versions"]) == ({"1": 5}, {"2": 4})


def test_predictions_outside_the_experiment_or_answered_by_the_fallback_count_in_neither_arm():
    experiment = running_experiment()
    arm_rows(experiment, "champion", version="1", count=2)
    arm_rows(experiment, "fallback", version="1", count=3)
    predictions_make(4, model_version="1")  # before the experiment, no arm

    results = experiment_results(experiment=experiment)

    assert [arm["requests"] for arm in results["arms"]] == [2, 0]
    assert results["fallback_count"] == 3
    assert results["warnings"] == []


def test_a_champion_alias_moved_during_the_experiment_is_pointed_out():
    experiment = running_experiment()
    arm_rows(experiment, "champion", version="1", count=2)
    arm_rows(experiment, "champion", version="3", count=1)
    arm_rows(experiment, "challenger", version="2", count=1)

    assert experiment_results(experiment=experiment)["warnings"] == [
        "The champion arm was also answered by version 3, not only by version 1: "
        "the champion alias moved during the experiment, so its figures mix the versions."
    ]


def test_a_much_better_challenger_gets_the_better_verdict():
    experiment = running_experiment()
    arm_rows(experiment, "champion", version="1", count=120, feedback_correct=True, latency=0.1)
    arm_rows(experiment, "champion", version="1", count=80, feedback_correct=False, latency=0.1)
    arm_rows(experiment, "challenger", version="2", count=180, feedback_correct=True, latency=0.3)
    arm_rows(experiment, "challenger", version="2", count=20, feedback_correct=False, latency=0.3)

    results = experiment_results(experiment=experiment)

    assert results["verdict"]["kind"] == Verdict.BETTER
    assert results["verdict"]["text"].startswith("challenger better: accuracy 30.0 points higher")
    assert results["accuracy_test"]["p_value"] < 0.001
    assert results["latency_verdict"].startswith("challenger slower: median 200.0 ms slower")


def test_an_experiment_without_labels_says_how_many_are_needed():
    experiment = running_experiment()
    arm_rows(experiment, "champion", version="1", count=3)

    verdict = experiment_results(experiment=experiment)["verdict"]

    assert verdict["kind"] == Verdict.NOT_YET
    assert f"about {verdict['more_per_arm']} more labelled predictions per arm needed" in verdict["text"]


def test_results_take_a_bounded_number_of_queries(django_assert_max_num_queries):
    experiment = running_experiment()
    arm_rows(experiment, "champion", version="1", count=40, feedback_correct=True)
    arm_rows(experiment, "challenger", version="2", count=40, feedback_correct=False)

    with django_assert_max_num_queries(12):
        experiment_results(experiment=experiment)


def test_the_page_shows_the_running_experiment_else_the_one_stopped_last():
    older = Experiment.objects.create(
        champion_version="1", challenger_version="2", challenger_share=0.1, status=Experiment.Status.STOPPED, stopped_at=timezone.now()
    )
    assert experiment_shown() == older
    running = running_experiment()
    assert experiment_shown() == running
