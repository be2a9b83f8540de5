"""Plotly figures for the MLOps pages: plain data in, a figure out (None when there is nothing to draw). No Django.

One colour scheme everywhere: the confidence bands (good > 90 %, acceptable 80-90 %, low
< 80 %), baseline in grey against recent in the accent colour, and verdict colours. Axes
carry their units; days and times are drawn as dates. A page shows its empty-state
sentence where a function returns None, never bare axes.

Plotly (~80 MiB with its validators) is imported where a figure is built, so that a web worker that
only serves predictions, whose URLconf imports the pages, does not load it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go

ACCENT = "#2f7d4f"
BASELINE = "#8a948f"
GOOD, ACCEPTABLE, LOW = "#2f7d4f", "#b4690e", "#b3261e"
SECOND = "#3b6ea8"
BAND_COLOURS = {"good": GOOD, "acceptable": ACCEPTABLE, "low": LOW}
VERDICT_COLOURS = {"drift": LOW, "no_drift": GOOD, "insufficient_data": BASELINE}
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12, "color": "#1d2521"}
AXIS = {"gridcolor": "#e8ecea", "zerolinecolor": "#d5dbd8", "linecolor": "#c9d3cc", "automargin": True}


def _figure(
    data: list[dict], *, title: str, x_title: str = "", y_title: str = "", height: int = 280, xaxis=None, yaxis=None, **layout
) -> go.Figure:
    """One figure from trace dicts, built and validated once (updating a figure step by step costs ~20x more)."""
    import plotly.graph_objects as go

    legend = len(data) > 1
    return go.Figure(
        {
            "data": data,
            "layout": {
                "title": {"text": title, "x": 0, "xanchor": "left", "y": 0.98, "yref": "container", "yanchor": "top", "font": {"size": 14}},
                "font": FONT,
                "height": height,
                # A legend sits in one row between the title and the plot, where it never covers an axis.
                "margin": {"l": 10, "r": 10, "t": 64 if legend else 40, "b": 10},
                "paper_bgcolor": "white",
                "plot_bgcolor": "white",
                "showlegend": legend,
                "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom"},
                "hoverlabel": {"font": FONT},
                "xaxis": {**AXIS, "title": {"text": x_title}, **(xaxis or {})},
                "yaxis": {**AXIS, "title": {"text": y_title}, **(yaxis or {})},
                **layout,
            },
        }
    )


def band_of(confidence: float) -> str:
    """The confidence band of a value in [0, 1] (as ``Prediction.confidence_band``)."""
    if confidence > 0.9:
        return "good"
    if confidence >= 0.8:
        return "acceptable"
    return "low"


# --- traffic ----------------------------------------------------------------------------------------


def predictions_per_day(by_day: Mapping[str, int]) -> go.Figure | None:
    """Bars of successful predictions per UTC day ('YYYY-MM-DD' -> count)."""
    if not any(by_day.values()):
        return None
    bars = {
        "type": "bar",
        "x": list(by_day),
        "y": list(by_day.values()),
        "marker": {"color": ACCENT},
        "name": "predictions",
        "hovertemplate": "%{x|%d %b %Y}: %{y} predictions<extra></extra>",
    }
    return _figure([bars], title="Predictions per day", y_title="predictions", xaxis={"type": "date"})


def latency_over_time(points: Sequence[Mapping]) -> go.Figure | None:
    """p50 and p95 request latency per period: points of {"at": ISO date or datetime, "p50": s, "p95": s, "count": n}."""
    if not any(point["count"] for point in points):
        return None
    at = [point["at"] for point in points]
    lines = [
        {
            "type": "scatter",
            "x": at,
            "mode": "lines+markers",
            "name": name,
            "line": {"color": colour},
            # Periods without requests are gaps in the line, not straight lines across them.
            "y": [point[name] * 1000 if point[name] is not None else None for point in points],
            "customdata": [point["count"] for point in points],
            "hovertemplate": f"{name} %{{y:.0f}} ms (%{{customdata}} requests)<extra></extra>",
        }
        for name, colour in (("p50", ACCENT), ("p95", ACCEPTABLE))
    ]
    return _figure(lines, title="Latency p50 / p95", y_title="milliseconds", xaxis={"type": "date"}, yaxis={"rangemode": "tozero"})


def confidence_histogram(labels: Sequence[str], counts: Sequence[int]) -> go.Figure | None:
    """Bars per confidence bin ('0.80-0.90' labels), coloured by the band of the bin's lower edge."""
    if not any(counts):
        return None
    edges = [[float(edge) for edge in label.split("-")] for label in labels]
    bars = {
        "type": "bar",
        "x": [f"{low * 100:.0f}–{high * 100:.0f} %" for low, high in edges],
        "y": list(counts),
        "name": "predictions",
        "marker": {"color": [BAND_COLOURS[band_of(low + 1e-9)] for low, _ in edges]},
        "hovertemplate": "%{x}: %{y} predictions<extra></extra>",
    }
    return _figure([bars], title="Confidence (green good, amber acceptable, red low)", x_title="confidence", y_title="predictions")


def top_foods(rows: Sequence[Mapping]) -> go.Figure | None:
    """Horizontal bars of the most frequent foods: rows of {"name", "count"}, most frequent first."""
    if not rows:
        return None
    rows = list(reversed(rows))
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": [row["count"] for row in rows],
        "y": [row["name"] for row in rows],
        "marker": {"color": ACCENT},
        "hovertemplate": "%{y}: %{x} predictions<extra></extra>",
    }
    return _figure([bars], title="Top foods", x_title="predictions", height=max(280, 60 + 24 * len(rows)))


# --- drift ------------------------------------------------------------------------------------------


def food_shares(baseline: Mapping[str, int], recent: Mapping[str, int], names: Mapping[str, str], *, limit: int = 15) -> go.Figure | None:
    """Baseline against recent share of each food (the ``limit`` foods with the largest share in either window)."""
    baseline_total, recent_total = sum(baseline.values()), sum(recent.values())
    if not baseline_total or not recent_total:
        return None
    shares = {key: (baseline.get(key, 0) / baseline_total, recent.get(key, 0) / recent_total) for key in set(baseline) | set(recent)}
    keys = sorted(shares, key=lambda key: (-max(shares[key]), key))[:limit]
    keys.reverse()
    labels = [names.get(key, key) for key in keys]
    bars = [
        {
            "type": "bar",
            "orientation": "h",
            "y": labels,
            "x": [shares[key][index] * 100 for key in keys],
            "name": name,
            "marker": {"color": colour},
            "hovertemplate": f"%{{y}}: %{{x:.1f}} % of {name}<extra></extra>",
        }
        for index, (name, colour) in enumerate((("baseline", BASELINE), ("recent", ACCENT)))
    ]
    return _figure(
        bars,
        title="Food shares: baseline against recent",
        x_title="share of predictions (%)",
        barmode="group",
        height=max(300, 80 + 34 * len(keys)),
    )


def overlaid_distributions(
    title: str, unit: str, baseline: Sequence[float], recent: Sequence[float], *, bins: int = 30
) -> go.Figure | None:
    """Histograms of one quantity in the baseline and the recent window on common bins, each as a share of its window."""
    b = np.asarray(baseline, dtype=np.float64)
    r = np.asarray(recent, dtype=np.float64)
    b, r = b[np.isfinite(b)], r[np.isfinite(r)]
    if not b.size or not r.size:
        return None
    low, high = float(min(b.min(), r.min())), float(max(b.max(), r.max()))
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, bins + 1)
    centres = ((edges[:-1] + edges[1:]) / 2).tolist()
    areas = []
    for name, values, colour in (("baseline", b, BASELINE), ("recent", r, ACCENT)):
        counts, _ = np.histogram(values, bins=edges)
        areas.append(
            {
                "type": "scatter",
                "x": centres,
                "y": (100 * counts / values.size).tolist(),
                "mode": "lines",
                "fill": "tozeroy",
                "line": {"shape": "hvh", "color": colour},
                "name": f"{name} (n={values.size})",
                "hovertemplate": f"%{{x:.3g}} {unit}: %{{y:.1f}} % of {name}<extra></extra>",
            }
        )
    return _figure(areas, title=title, x_title=unit, y_title="share of window (%)", height=240)


def drift_history(reports: Sequence[Mapping], *, threshold: float | None = None) -> go.Figure | None:
    """Drift score of each report over time, markers coloured by verdict: reports of {"at", "score", "verdict"}."""
    scored = [report for report in reports if report["score"] is not None]
    if not scored:
        return None
    line = {
        "type": "scatter",
        "x": [report["at"] for report in scored],
        "y": [report["score"] for report in scored],
        "mode": "lines+markers",
        "name": "drift score",
        "line": {"color": BASELINE},
        "marker": {"size": 9, "color": [VERDICT_COLOURS.get(report["verdict"], BASELINE) for report in scored]},
        "customdata": [report["verdict"].replace("_", " ") for report in scored],
        "hovertemplate": "%{x|%d %b %H:%M}: %{y:.3f} (%{customdata})<extra></extra>",
    }
    extra = {}
    if threshold is not None:
        extra["shapes"] = [
            {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": threshold, "y1": threshold, "line": {"dash": "dot", "color": LOW}}
        ]
        extra["annotations"] = [
            {
                "xref": "paper",
                "x": 1,
                "xanchor": "right",
                "y": threshold,
                "yanchor": "bottom",
                "text": f"threshold {threshold:g}",
                "showarrow": False,
                "font": {"color": LOW},
            }
        ]
    return _figure(
        [line],
        title="Drift score per report (red: drift, green: no drift)",
        y_title="drift score",
        xaxis={"type": "date"},
        yaxis={"rangemode": "tozero"},
        **extra,
    )


# --- models -----------------------------------------------------------------------------------------

METRIC_NAMES = (("accuracy", "accuracy"), ("precision", "precision"), ("recall", "recall"), ("f1_score", "F1"))


def evaluation_comparison(rows: Sequence[Mapping]) -> go.Figure | None:
    """Accuracy, precision, recall and F1 side by side per model version: rows of {"model_version", metric: value or None}."""
    rows = [row for row in rows if any(row.get(metric) is not None for metric, _ in METRIC_NAMES)]
    if not rows:
        return None
    versions = [f"v{row['model_version']}" for row in rows]
    bars = [
        {
            "type": "bar",
            "x": versions,
            "y": [row.get(metric) for row in rows],
            "name": label,
            "marker": {"color": colour},
            "hovertemplate": f"%{{x}} {label}: %{{y:.3f}}<extra></extra>",
        }
        for (metric, label), colour in zip(METRIC_NAMES, (ACCENT, SECOND, ACCEPTABLE, BASELINE), strict=True)
    ]
    return _figure(bars, title="Latest evaluation per version", y_title="score (0-1)", barmode="group", yaxis={"range": [0, 1]})


def accuracy_history(history: Sequence[Mapping]) -> go.Figure | None:
    """Accuracy and F1 of every stored evaluation over time: {"timestamp", "accuracy", "f1_score", "model_version"}."""
    if not history:
        return None
    lines = [
        {
            "type": "scatter",
            "x": [point["timestamp"] for point in history],
            "y": [point[metric] for point in history],
            "mode": "lines+markers",
            "name": label,
            "line": {"color": colour},
            "customdata": [point.get("model_version", "") for point in history],
            "hovertemplate": f"version %{{customdata}}: {label} %{{y:.3f}}<extra></extra>",
        }
        for metric, label, colour in (("accuracy", "accuracy", ACCENT), ("f1_score", "F1", SECOND))
    ]
    return _figure(lines, title="Evaluations over time", y_title="score (0-1)", xaxis={"type": "date"}, yaxis={"range": [0, 1]})


def accuracy_over_time(points: Sequence[Mapping]) -> go.Figure | None:
    """Measured (from feedback) against label-free estimated accuracy per day: {"day", "measured", "estimated", "labels"}."""
    if not any(point["measured"] is not None or point["estimated"] is not None for point in points):
        return None
    days = [point["day"] for point in points]
    lines = [
        {
            "type": "scatter",
            "x": days,
            "y": [point["estimated"] for point in points],
            "mode": "lines",
            "name": "estimated (label-free)",
            "line": {"color": BASELINE, "dash": "dash"},
            "hovertemplate": "%{x|%d %b}: estimated %{y:.3f}<extra></extra>",
        },
        {
            "type": "scatter",
            "x": days,
            "y": [point["measured"] for point in points],
            "mode": "lines+markers",
            "name": "measured (feedback)",
            "line": {"color": ACCENT},
            "customdata": [point["labels"] for point in points],
            "hovertemplate": "%{x|%d %b}: measured %{y:.3f} on %{customdata} labels<extra></extra>",
        },
    ]
    return _figure(
        lines, title="Accuracy: measured against estimated", y_title="accuracy (0-1)", xaxis={"type": "date"}, yaxis={"range": [0, 1]}
    )


def reliability_diagram(table: Sequence[Mapping], *, title: str = "Reliability (from feedback)") -> go.Figure | None:
    """Mean confidence against observed accuracy per bin (bins with labels); the diagonal is perfect calibration."""
    table = [row for row in table if row["count"]]
    if not table:
        return None
    lines = [
        {
            "type": "scatter",
            "x": [0, 1],
            "y": [0, 1],
            "mode": "lines",
            "line": {"dash": "dot", "color": BASELINE},
            "name": "perfect",
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "x": [row["mean_confidence"] for row in table],
            "y": [row["accuracy"] for row in table],
            "mode": "lines+markers",
            "marker": {"color": ACCENT, "size": [min(18, 6 + row["count"] ** 0.5) for row in table]},
            "line": {"color": ACCENT},
            "name": "observed",
            "customdata": [row["count"] for row in table],
            "hovertemplate": "confidence %{x:.2f}: right %{y:.2f} of %{customdata} labels<extra></extra>",
        },
    ]
    return _figure(
        lines, title=title, x_title="mean confidence", y_title="observed accuracy", xaxis={"range": [0, 1]}, yaxis={"range": [0, 1]}
    )


def confusion_matrix(labels: Sequence[str], columns: Sequence[str], rows: Sequence[Sequence[int]]) -> go.Figure | None:
    """Counts of true (rows) against predicted (columns) labels as a heatmap."""
    matrix = np.asarray(rows, dtype=np.int64)
    if not matrix.size or not matrix.sum():
        return None
    heatmap = {
        "type": "heatmap",
        "z": matrix.tolist(),
        "x": list(columns),
        "y": list(labels),
        "showscale": False,
        "colorscale": [[0, "#f5f7f4"], [1, ACCENT]],
        "hovertemplate": "true %{y}, predicted %{x}: %{z}<extra></extra>",
    }
    return _figure(
        [heatmap],
        title="Confusion matrix",
        x_title="predicted",
        y_title="true",
        height=max(320, 120 + 18 * len(labels)),
        yaxis={"autorange": "reversed"},
    )
