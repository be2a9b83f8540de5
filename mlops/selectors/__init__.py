"""Reads of the mlops app: monitoring figures as SQL aggregates over the Prediction table.

Every selector takes keyword-only ``start``/``end`` (end exclusive, either may be None
for an open end) and an optional ``model_version``, and runs a bounded number of
queries whatever the row count. One module per concept:

- ``windows``: the predictions and evaluations a window selects;
- ``traffic``: requests, errors, latency, predictions per food / day / user, confidence, the mirror backlog;
- ``quality``: feedback performance, calibration, evaluations and their trend, metric history,
  registry versions with their evaluations, stored drift reports;
- ``feedback_cache``: figures of labelled predictions cached under the feedback's state (never stale through the app).

The names callers use are re-exported here (``from mlops import selectors``).
"""

from .quality import (
    EVALUATION_METRICS,
    HISTORY_METRICS,
    PREDICTION_METRICS,
    TREND_RELATIVE_CHANGE,
    TREND_SIGNIFICANCE,
    accuracy_trend,
    calibration_by_version,
    drift_report_find,
    evaluation_history,
    feedback_performance,
    feedback_predictions,
    metric_history,
    model_versions_with_evaluations,
    performance_report,
    version_order,
)
from .traffic import (
    confidence_bins,
    confidence_histogram,
    confidence_summary,
    metrics_overview,
    mirror_backlog,
    percentile,
    prediction_statistics,
    recent_predictions_as_runs,
    request_stats,
    top_foods_mapping,
    user_activity,
    users_of,
)
from .windows import in_window, predictions_in_window, successful_predictions

__all__ = [
    "EVALUATION_METRICS",
    "HISTORY_METRICS",
    "PREDICTION_METRICS",
    "TREND_RELATIVE_CHANGE",
    "TREND_SIGNIFICANCE",
    "accuracy_trend",
    "calibration_by_version",
    "confidence_bins",
    "confidence_histogram",
    "confidence_summary",
    "drift_report_find",
    "evaluation_history",
    "feedback_performance",
    "feedback_predictions",
    "in_window",
    "metric_history",
    "metrics_overview",
    "mirror_backlog",
    "model_versions_with_evaluations",
    "percentile",
    "performance_report",
    "prediction_statistics",
    "predictions_in_window",
    "recent_predictions_as_runs",
    "request_stats",
    "successful_predictions",
    "top_foods_mapping",
    "user_activity",
    "users_of",
    "version_order",
]
