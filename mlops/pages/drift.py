"""The Drift page: a stored drift report in full, the distributions it compared, its history, and the photos behind it.

Reports are read as stored (``DriftReport.results``). What a report does not store (the
distributions of the numbers it tested, the photos farthest from the baseline) is read
from its two windows once and cached by report: a report's windows never change.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
from django.conf import settings
from django.core.cache import cache

from predictions.models import Food

from .. import charts
from ..drift_photos import DriftPhoto, DriftPhotos, drift_photos_find
from ..drift_reports import NO_FOOD_KEY, window_read
from ..models import DriftReport
from .figures import figure_slot
from .filters import FilterInvalid, PageFilters

CACHE_SECONDS = 7 * 24 * 3600
DISTRIBUTION_SAMPLE = 2000
# The numbers a report tests besides the food mix, with the unit their axis shows.
QUANTITIES = {
    "confidence": ("Confidence", "confidence (0-1)"),
    "brightness": ("Brightness", "mean brightness (0-1)"),
    "contrast": ("Contrast", "contrast (0-1)"),
    "sharpness": ("Sharpness", "sharpness (Laplacian variance)"),
    "width": ("Photo width", "pixels"),
    "height": ("Photo height", "pixels"),
    "aspect": ("Aspect ratio", "width / height"),
}
CHECK_NAMES = {"prediction": "Food mix", "embedding": "Embeddings"}


def check_label(name: str) -> str:
    """A check's name as a person reads it ("prediction" is the food mix)."""
    return CHECK_NAMES.get(name, QUANTITIES.get(name, (name,))[0])


def _cache_key(report: DriftReport, part: str) -> str:
    return f"mlops-pages:drift:{part}:{report.pk}:{report.created_at.timestamp()}"


def report_distributions(report: DriftReport) -> dict[str, tuple[list[float], list[float]]]:
    """Baseline and recent values of each tested number (an even sample of each window), cached per report."""
    key = _cache_key(report, "distributions")
    values = cache.get(key)
    if values is None:
        reads = [
            window_read(
                start=start,
                end=end,
                model_version=report.model_version or None,
                sample_size=DISTRIBUTION_SAMPLE,
                seed=settings.NUTRILEARN_DRIFT_SEED,
            )
            for start, end in ((report.baseline_start, report.baseline_end), (report.recent_start, report.recent_end))
        ]
        values = {
            name: tuple(read.sample.numeric[name][np.isfinite(read.sample.numeric[name])].tolist() for read in reads)
            for name in QUANTITIES
            if name in reads[0].sample.numeric
        }
        cache.set(key, values, CACHE_SECONDS)
    return values


def report_photos(report: DriftReport) -> DriftPhotos:
    """The photos farthest from the baseline (``drift_photos_find``), cached per report."""
    key = _cache_key(report, "photos")
    stored = cache.get(key)
    if stored is None:
        found = drift_photos_find(report)
        cache.set(key, asdict(found), CACHE_SECONDS)
        return found
    return DriftPhotos(**{**stored, "photos": [DriftPhoto(**photo) for photo in stored["photos"]]})


def test_rows(results: dict) -> list[dict]:
    """One row per test of every check: statistic, p-value or distance, threshold, sample sizes, verdict, and whether it decides."""
    rows = []
    for check in results.get("checks", []):
        for test in check["tests"]:
            rows.append(
                {
                    "check": check_label(check["name"]),
                    "check_verdict": check["verdict"],
                    "rule": check.get("rule", ""),
                    "deciding": test["name"] != "psi",  # PSI is reported beside the deciding tests
                    **test,
                }
            )
    return rows


def _report_for(filters: PageFilters, report_id: str | None) -> DriftReport | None:
    if report_id:
        if not report_id.isdigit():
            raise FilterInvalid(f"report must be a report id, not {report_id!r}.")
        report = DriftReport.objects.filter(pk=int(report_id)).first()
        if report is None:
            raise FilterInvalid(f"There is no drift report {report_id}.")
        return report
    if filters.model_version:
        return DriftReport.objects.filter(model_version=filters.model_version).order_by("-created_at", "-id").first()
    return DriftReport.objects.latest_scheduled()


def report_history(filters: PageFilters) -> list[DriftReport]:
    """Reports created in the page window, oldest first: the scheduled ones, or those of the filtered model version."""
    reports = DriftReport.objects.filter(created_at__gte=filters.start, created_at__lt=filters.end)
    if filters.model_version:
        reports = reports.filter(model_version=filters.model_version)
    else:
        reports = reports.filter(scheduled=True)
    return list(
        reports.order_by("created_at", "id").only("id", "created_at", "drift_score", "verdict", "drift_detected", "model_version")[:500]
    )


def drift_context(filters: PageFilters, *, report_id: str | None) -> dict:
    report = _report_for(filters, report_id)
    history = report_history(filters)
    context = {
        "report": report,
        "history": list(reversed(history[-20:])),
        "history_chart": figure_slot(
            "drift-history",
            charts.drift_history(
                [{"at": r.created_at.isoformat(), "score": r.drift_score, "verdict": r.verdict} for r in history],
                threshold=report.results.get("threshold") if report else None,
            ),
            "No drift reports in this window: the scheduler stores one every few hours once it runs.",
            wide=True,
        ),
    }
    if report is None:
        return context
    results = report.results
    names = dict(Food.objects.values_list("key", "display_name"))
    names[NO_FOOD_KEY] = "No food recognised"
    distributions = report_distributions(report)
    photos = report_photos(report)
    context.update(
        results=results,
        tests=test_rows(results),
        notices=results.get("notices") or [],
        drifting=[check_label(name) for name in results.get("drifting_checks", [])],
        food_chart=figure_slot(
            "food-shares",
            charts.food_shares(results.get("baseline_food_counts", {}), results.get("recent_food_counts", {}), names),
            "One of the windows has no predictions: there are no food shares to compare.",
        ),
        distribution_charts=[
            figure_slot(
                f"distribution-{name}",
                charts.overlaid_distributions(title, unit, *distributions[name]),
                f"No {title.lower()} values in one of the windows.",
            )
            for name, (title, unit) in QUANTITIES.items()
            if name in distributions
        ],
        photos=photos,
    )
    return context
