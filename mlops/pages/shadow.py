"""The shadow page: how often the challenger agrees with the champion, and a gallery of their disagreements to review."""

from __future__ import annotations

from ..shadow.models import ShadowPrediction
from ..shadow.selectors import shadow_agreement, shadow_disagreements
from .filters import PageFilters

GALLERY_SIZE = 60


def shadow_context(filters: PageFilters, *, unreviewed_only: bool) -> dict:
    """Agreement in the page window (the version filter picks the challenger version) and up to GALLERY_SIZE disagreements."""
    window = {"start": filters.start, "end": filters.end, "challenger_version": filters.model_version}
    agreement = shadow_agreement(**window)
    disagreements = list(shadow_disagreements(**window, unreviewed_only=unreviewed_only)[:GALLERY_SIZE])
    return {
        "agreement": agreement,
        "disagreements": disagreements,
        "unreviewed_only": unreviewed_only,
        "verdicts": ShadowPrediction.Verdict.choices,
        "gallery_size": GALLERY_SIZE,
    }
