"""Reads of shadow mode: agreement between champion and challenger, overall and per food, and the disagreements."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q, QuerySet

from .models import ShadowPrediction


def _in_window(*, start: datetime | None, end: datetime | None, challenger_version: str | None) -> QuerySet[ShadowPrediction]:
    rows = ShadowPrediction.objects.all()
    if start is not None:
        rows = rows.filter(prediction__created_at__gte=start)
    if end is not None:
        rows = rows.filter(prediction__created_at__lt=end)
    if challenger_version:
        rows = rows.filter(model_version=challenger_version)
    return rows


def _rate(agreeing: int, total: int) -> float | None:
    return agreeing / total if total else None


def shadow_agreement(*, start: datetime | None, end: datetime | None, challenger_version: str | None = None) -> dict:
    """Agreement of the challenger with the champion on the window's photos: overall and per champion food (most answered first).

    "No food recognised" answers count under the food key ``None``. Two queries whatever the row count.
    """
    rows = _in_window(start=start, end=end, challenger_version=challenger_version).order_by()
    totals = rows.aggregate(total=Count("id"), agreeing=Count("id", filter=Q(agrees=True)))
    per_food = (
        rows.values("prediction__food__key", "prediction__food__display_name")
        .annotate(total=Count("id"), agreeing=Count("id", filter=Q(agrees=True)))
        .order_by("-total", "prediction__food__key")
    )
    return {
        "total": totals["total"],
        "agreeing": totals["agreeing"],
        "rate": _rate(totals["agreeing"], totals["total"]),
        "per_food": [
            {
                "food": row["prediction__food__key"],
                "display_name": row["prediction__food__display_name"] or "No food recognised",
                "total": row["total"],
                "agreeing": row["agreeing"],
                "rate": _rate(row["agreeing"], row["total"]),
            }
            for row in per_food
        ],
        "versions": sorted(rows.values_list("model_version", flat=True).distinct()),
    }


def shadow_disagreements(
    *, start: datetime | None, end: datetime | None, challenger_version: str | None = None, unreviewed_only: bool = False
) -> QuerySet[ShadowPrediction]:
    """The window's disagreements, newest first, with both answers and the user's feedback at hand."""
    rows = _in_window(start=start, end=end, challenger_version=challenger_version).filter(agrees=False)
    if unreviewed_only:
        rows = rows.filter(verdict="")
    return rows.select_related("food", "prediction", "prediction__food", "prediction__feedback_food", "reviewed_by").order_by(
        "-prediction__created_at", "-id"
    )
