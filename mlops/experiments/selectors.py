"""Reads of A/B tests: the running experiment, the list, and the results per arm (SQL aggregates, then the statistics)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Avg, Count, Q, QuerySet

from predictions.models import Prediction

from ..selectors import percentile
from . import statistics
from .assignment import CHALLENGER, CHALLENGER_UNAVAILABLE, CHAMPION
from .models import Experiment

# Mann-Whitney reads latencies one by one: the newest this many per arm (a few hundred kB) are plenty
# for its p-value and keep the read bounded however long the test runs.
LATENCY_SAMPLE_LIMIT = 20_000


def experiment_running() -> Experiment | None:
    """The experiment that is running now, if any (at most one: the database enforces it)."""
    return Experiment.objects.filter(status=Experiment.Status.RUNNING).first()


def experiment_list() -> QuerySet[Experiment]:
    """Every experiment, newest first, with who created, started and stopped it."""
    return Experiment.objects.select_related("created_by", "started_by", "stopped_by")


def experiment_shown() -> Experiment | None:
    """The experiment the Models page shows: the running one, else the one stopped last, else None."""
    running = experiment_running()
    if running is not None:
        return running
    return experiment_list().filter(status=Experiment.Status.STOPPED).order_by("-stopped_at", "-id").first()


def _arm_figures(rows: QuerySet[Prediction], totals: dict) -> dict:
    ok, labelled, correct = totals["ok"], totals["labelled"], totals["correct"]
    interval = statistics.wilson_interval(correct, labelled)
    ok_rows = rows.filter(status=Prediction.Status.OK)
    return {
        "requests": totals["requests"],
        "predictions": ok,
        "average_confidence": totals["average_confidence"],
        "no_food_share": totals["no_food"] / ok if ok else None,
        "latency_p50_seconds": percentile(ok_rows, field="processing_time_seconds", fraction=0.5, count=totals["timed"]),
        "latency_p95_seconds": percentile(ok_rows, field="processing_time_seconds", fraction=0.95, count=totals["timed"]),
        "error_count": totals["failed"],
        "error_rate": totals["failed"] / totals["requests"] if totals["requests"] else None,
        "labelled": labelled,
        "correct": correct,
        "accuracy": correct / labelled if labelled else None,
        "accuracy_ci95": list(interval) if interval else None,
        "versions": {},
    }


def _latencies(rows: QuerySet[Prediction]) -> list[float]:
    timed = rows.filter(status=Prediction.Status.OK, processing_time_seconds__isnull=False).order_by("-id")
    return list(timed.values_list("processing_time_seconds", flat=True)[:LATENCY_SAMPLE_LIMIT])


def experiment_results(*, experiment: Experiment) -> dict:
    """Figures per arm (champion, challenger), the accuracy and latency tests and the plain verdict.

    A handful of queries whatever the row count: one GROUP BY arm, one per arm and percentile, one for
    the versions that answered, and a bounded read of latencies. Rows of the ``fallback`` arm (assigned
    to the challenger, answered by the champion) are counted apart and belong to neither arm.
    """
    rows = Prediction.objects.filter(ab_experiment=experiment)
    grouped = {
        entry["ab_arm"]: entry
        for entry in rows.order_by()
        .values("ab_arm")
        .annotate(
            requests=Count("id"),
            ok=Count("id", filter=Q(status=Prediction.Status.OK)),
            failed=Count("id", filter=Q(status=Prediction.Status.FAILED)),
            average_confidence=Avg("confidence", filter=Q(status=Prediction.Status.OK)),
            no_food=Count("id", filter=Q(status=Prediction.Status.OK, no_food=True)),
            timed=Count("processing_time_seconds", filter=Q(status=Prediction.Status.OK)),
            labelled=Count("id", filter=Q(status=Prediction.Status.OK, feedback_correct__isnull=False)),
            correct=Count("id", filter=Q(status=Prediction.Status.OK, feedback_correct=True)),
        )
    }
    empty = {"requests": 0, "ok": 0, "failed": 0, "average_confidence": None, "no_food": 0, "timed": 0, "labelled": 0, "correct": 0}
    arms = {arm: _arm_figures(rows.filter(ab_arm=arm), grouped.get(arm, empty)) for arm in (CHAMPION, CHALLENGER)}
    answered = rows.filter(status=Prediction.Status.OK).order_by().values("ab_arm", "model_version").annotate(count=Count("id"))
    for entry in answered:
        if entry["ab_arm"] in arms:
            arms[entry["ab_arm"]]["versions"][entry["model_version"]] = entry["count"]
    champion, challenger = arms[CHAMPION], arms[CHALLENGER]
    warnings = []
    # The champion arm serves whatever the champion alias names; a promotion during the test mixes two versions in it.
    others = sorted(set(champion["versions"]) - {experiment.champion_version})
    if others:
        warnings.append(
            f"The champion arm was also answered by version {', '.join(others)}, not only by version {experiment.champion_version}: "
            "the champion alias moved during the experiment, so its figures mix the versions."
        )
    verdict = statistics.accuracy_verdict(
        statistics.ArmOutcome(labelled=champion["labelled"], correct=champion["correct"]),
        statistics.ArmOutcome(labelled=challenger["labelled"], correct=challenger["correct"]),
        minimum_effect=settings.NUTRILEARN_AB_MIN_DETECTABLE_EFFECT,
    )
    latency_text, latency_test = statistics.latency_verdict(
        _latencies(rows.filter(ab_arm=CHAMPION)), _latencies(rows.filter(ab_arm=CHALLENGER))
    )
    return {
        "arms": [{"arm": arm, **figures} for arm, figures in arms.items()],
        "fallback_count": grouped.get(CHALLENGER_UNAVAILABLE, empty)["requests"],
        "accuracy_test": None
        if verdict.test is None
        else {"difference": verdict.test.difference, "z": verdict.test.z, "p_value": verdict.test.p_value},
        "latency_test": None
        if latency_test is None
        else {
            "statistic": latency_test.statistic,
            "p_value": latency_test.p_value,
            "median_difference_seconds": latency_test.median_difference,
        },
        "verdict": {
            "kind": verdict.kind,
            "text": verdict.text,
            "needed_per_arm": verdict.needed_per_arm,
            "more_per_arm": verdict.more_per_arm,
        },
        "latency_verdict": latency_text,
        "minimum_detectable_effect": settings.NUTRILEARN_AB_MIN_DETECTABLE_EFFECT,
        "warnings": warnings,
    }
