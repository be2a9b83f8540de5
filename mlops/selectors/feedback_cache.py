"""A cache for figures of labelled predictions, keyed by the feedback's state so that no answer given is ever missed."""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.db.models import Count

from predictions.models import Prediction

# How long a window's feedback scores stay cached; the key changes with any answer given or changed through the app.
FEEDBACK_CACHE_SECONDS = 300


def feedback_state() -> str:
    """Changes whenever an answer is given or changed (prediction_feedback_set stamps feedback_at) or a labelled row goes."""
    latest = Prediction.objects.order_by("-feedback_at").filter(feedback_at__isnull=False).values_list("feedback_at", flat=True).first()
    labelled = Prediction.objects.filter(feedback_correct__isnull=False).order_by().aggregate(n=Count("*"))["n"]
    return f"{latest.isoformat() if latest else ''}:{labelled}"


def feedback_cached(name: str, compute, *, start: datetime | None, end: datetime | None, model_version: str | None, **extra):
    """``compute(start=, end=, model_version=, **extra)``, a figure of the window's labelled predictions, cached under the
    window and the feedback's state (it changes with every answer, so a cached figure is never stale through the app)."""
    window = f"{start.isoformat() if start else ''}:{end.isoformat() if end else ''}:{model_version or ''}"
    options = ",".join(f"{option}={value}" for option, value in sorted(extra.items()))
    key = f"feedback:{name}:{window}:{options}:{feedback_state()}"
    figure = cache.get(key)
    if figure is None:
        figure = compute(start=start, end=end, model_version=model_version, **extra)
        cache.set(key, figure, FEEDBACK_CACHE_SECONDS)
    return figure
