"""The Drift page: every test of the report, the windows' food shares and distributions, the history, and the photos behind it."""

import re
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from mlops.embedding_outliers import farthest, knn_distance
from mlops.models import DriftReport

pytestmark = pytest.mark.django_db


def test_the_photos_behind_the_drift_are_the_ones_the_shift_put_there(staff_client, shifted_photos):
    page = staff_client.get("/mlops/drift/").content.decode()

    shown = {int(pk) for pk in re.findall(r'data-prediction="(\d+)"', page)}
    assert shown == shifted_photos["shifted_ids"]
    assert len(re.findall(r'src="/mlops/predictions/\d+/thumbnail\.jpg"', page)) == 24


def test_every_test_of_the_report_is_one_row_with_its_figures(staff_client, shifted_photos):
    report = shifted_photos["report"]
    tests = [test for check in report.results["checks"] for test in check["tests"]]

    page = staff_client.get("/mlops/drift/").content.decode()

    table = re.search(r'id="drift-tests">(.*?)</table>', page, re.S).group(1)
    assert table.count("<tr>") == len(tests) + 1
    assert re.search(r"<td>Food mix</td><td>chi_square</td>\s*<td class=\"num\">[\d.]+</td><td class=\"num\">[\d.e-]+</td>", table)
    assert re.search(r"<td>Embeddings</td><td>mmd</td>.*?<td class=\"num\">200</td><td class=\"num\">150</td>", table, re.S)
    assert "psi <span class=\"muted small\">(reported only)</span>" in table
    assert 'id="chart-food-shares" data-figure' in page and 'id="chart-distribution-confidence" data-figure' in page


def test_history_lists_the_scheduled_reports_of_the_window_and_any_report_can_be_opened(staff_client, shifted_photos):
    now = timezone.now()
    older = DriftReport.objects.create(baseline_start=now - timedelta(days=40), baseline_end=now - timedelta(days=12),
                                       recent_start=now - timedelta(days=12), recent_end=now - timedelta(days=5), verdict="no_drift",
                                       drift_score=0.05, scheduled=True, results={"threshold": 0.15})  # fmt: skip
    DriftReport.objects.filter(pk=older.pk).update(created_at=now - timedelta(days=5))

    latest = staff_client.get("/mlops/drift/").content.decode()
    chosen = staff_client.get("/mlops/drift/", {"report": older.pk}).content.decode()

    assert re.search(rf'id="drift-history".*href="\?days=7&amp;report={older.pk}"', latest, re.S)
    assert re.search(r'id="drift-verdict">drift detected', latest)
    assert re.search(rf"Report {older.pk} of .*?id=\"drift-verdict\">no drift", chosen, re.S)
    assert "No embeddings to compare" in chosen


def test_an_unknown_report_is_a_400_that_says_so(staff_client):
    response = staff_client.get("/mlops/drift/", {"report": "4242"})

    assert response.status_code == 400
    assert "There is no drift report 4242." in response.content.decode()


def test_the_farthest_embeddings_are_the_ones_unlike_any_baseline_point():
    rng = np.random.default_rng(1)
    baseline = rng.normal(size=(300, 8))
    recent = np.vstack([rng.normal(size=(50, 8)), rng.normal(size=(5, 8)) + 6.0])

    distances = knn_distance(baseline, recent, k=5)
    within = knn_distance(baseline, baseline, k=5, exclude_self=True)

    assert set(farthest(distances, 5)) == {50, 51, 52, 53, 54}
    assert distances[50:].min() > 3 * np.median(within)
    assert knn_distance(baseline[:3], baseline[:3], k=5, exclude_self=True).shape == (3,)  # k capped at the 2 other points
