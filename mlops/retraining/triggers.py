"""What says a retraining is due: drift in the latest scheduled report, feedback accuracy down significantly, or the
label-free accuracy estimate down. Reads only."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q

from ..calibration import accuracy_change_test
from ..models import DriftReport
from ..selectors import confidence_summary, feedback_predictions


def _windows(now: datetime) -> tuple[datetime, datetime, datetime]:
    """(baseline start, recent start, now): the drift report's windows, so every trigger compares the same periods."""
    recent_start = now - timedelta(days=settings.NUTRILEARN_DRIFT_RECENT_DAYS)
    return recent_start - timedelta(days=settings.NUTRILEARN_DRIFT_BASELINE_DAYS), recent_start, now


def _feedback_accuracy(*, start: datetime, end: datetime) -> tuple[int, int]:
    rows = feedback_predictions(start=start, end=end).order_by()
    counts = rows.aggregate(total=Count("id"), correct=Count("id", filter=Q(feedback_correct=True)))
    return counts["correct"], counts["total"]


def retrain_triggers(*, now: datetime) -> tuple[list[dict], DriftReport | None]:
    """The triggers that hold now, each a dict (kind, detail, figures), and the latest scheduled drift report.

    Feedback accuracy: a two-proportion z-test (``accuracy_change_test``) between the baseline and recent windows,
    a fall significant at NUTRILEARN_RETRAIN_SIGNIFICANCE. Label-free estimate: the mean confidence of the recent
    window below the baseline's by NUTRILEARN_RETRAIN_ESTIMATE_DROP or more, with NUTRILEARN_DRIFT_MIN_SAMPLES each.
    """
    triggers = []
    report = DriftReport.objects.latest_scheduled()
    if report is not None and report.drift_detected:
        checks = ", ".join(report.results.get("drifting_checks", [])) or "none named"
        triggers.append(
            {
                "kind": "drift",
                "detail": f"drift report {report.pk} says {report.verdict} (drifting checks: {checks})",
                "report_id": report.pk,
            }
        )
    baseline_start, recent_start, end = _windows(now)
    first_correct, first_total = _feedback_accuracy(start=baseline_start, end=recent_start)
    last_correct, last_total = _feedback_accuracy(start=recent_start, end=end)
    test = accuracy_change_test(first_correct=first_correct, first_total=first_total, last_correct=last_correct, last_total=last_total)
    if test is not None and test["change"] < 0 and test["p_value"] < settings.NUTRILEARN_RETRAIN_SIGNIFICANCE:
        triggers.append(
            {
                "kind": "feedback_accuracy",
                "detail": f"feedback accuracy fell from {first_correct / first_total:.1%} ({first_total} labels) to "
                f"{last_correct / last_total:.1%} ({last_total} labels), p = {test['p_value']:.2g}",
                "figures": {"baseline": [first_correct, first_total], "recent": [last_correct, last_total], **test},
            }
        )
    before = confidence_summary(start=baseline_start, end=recent_start)
    after = confidence_summary(start=recent_start, end=end)
    minimum = settings.NUTRILEARN_DRIFT_MIN_SAMPLES
    if before["count"] >= minimum and after["count"] >= minimum:
        drop = before["mean"] - after["mean"]
        if drop >= settings.NUTRILEARN_RETRAIN_ESTIMATE_DROP:
            triggers.append(
                {
                    "kind": "accuracy_estimate",
                    "detail": f"label-free accuracy estimate (mean confidence) fell from {before['mean']:.1%} to {after['mean']:.1%}",
                    "figures": {
                        "baseline": before["mean"],
                        "recent": after["mean"],
                        "baseline_count": before["count"],
                        "recent_count": after["count"],
                    },
                }
            )
    return triggers, report
