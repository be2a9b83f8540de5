"""Plotly figures for the MLOps dashboard: plain data in, a figure out. No Django."""

from __future__ import annotations

import plotly.graph_objects as go

ACCENT = "#2f7d4f"
LAYOUT = {"margin": {"l": 40, "r": 10, "t": 40, "b": 40}, "height": 280, "template": "plotly_white"}


def predictions_per_day(by_day: dict[str, int]) -> go.Figure:
    figure = go.Figure(go.Bar(x=list(by_day), y=list(by_day.values()), marker_color=ACCENT, name="predictions"))
    return figure.update_layout(title="Predictions per day", xaxis={"type": "category"}, **LAYOUT)


def confidence_histogram(labels: list[str], counts: list[int]) -> go.Figure:
    lower_edges = [float(label.split("-")[0]) for label in labels]
    colours = ["#b3261e" if lower < 0.8 else "#b4690e" if lower < 0.9 else ACCENT for lower in lower_edges]
    figure = go.Figure(go.Bar(x=labels, y=counts, marker_color=colours, name="predictions"))
    return figure.update_layout(title="Confidence", xaxis_title="confidence", **LAYOUT)


def top_foods(rows: list[dict]) -> go.Figure:
    rows = list(reversed(rows))
    figure = go.Figure(go.Bar(x=[row["count"] for row in rows], y=[row["name"] for row in rows], orientation="h", marker_color=ACCENT))
    return figure.update_layout(title="Top foods", **LAYOUT)


def accuracy_history(history: list[dict]) -> go.Figure:
    figure = go.Figure()
    for metric in ("accuracy", "f1_score"):
        figure.add_trace(
            go.Scatter(
                x=[point["timestamp"] for point in history],
                y=[point[metric] for point in history],
                mode="lines+markers",
                name=metric,
                text=[f"version {point.get('model_version', '')}" for point in history],
            )
        )
    return figure.update_layout(title="Evaluations", yaxis_range=[0, 1], **LAYOUT)


def reliability_diagram(table: list[dict]) -> go.Figure:
    """Mean confidence against observed accuracy per bin; the diagonal is perfect calibration."""
    figure = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, name="perfect"))
    figure.add_trace(
        go.Scatter(
            x=[row["mean_confidence"] for row in table],
            y=[row["accuracy"] for row in table],
            mode="lines+markers",
            marker_color=ACCENT,
            name="observed",
            text=[f"{row['count']} labels" for row in table],
        )
    )
    return figure.update_layout(title="Calibration (from feedback)", xaxis_range=[0, 1], yaxis_range=[0, 1], **LAYOUT)
