"""The A/B test panel of the Models page."""

import pytest
from django.utils import timezone

from mlops.experiments.models import Experiment
from tests.mlops.factories import predictions_make

pytestmark = pytest.mark.django_db


def test_models_page_shows_the_running_experiment_with_both_arms_and_the_verdict(staff_client):
    experiment = Experiment.objects.create(
        name="nudged head",
        champion_version="1",
        challenger_version="2",
        challenger_share=0.1,
        status=Experiment.Status.RUNNING,
        started_at=timezone.now(),
    )
    predictions_make(12, ab_experiment=experiment, ab_arm="champion", model_version="1", latency=0.05, feedback_correct=True)
    predictions_make(3, ab_experiment=experiment, ab_arm="challenger", model_version="2", latency=0.08, feedback_correct=False)
    predictions_make(2, ab_experiment=experiment, ab_arm="fallback", model_version="1")

    page = staff_client.get("/mlops/models/").content.decode()

    assert "nudged head" in page and "on 10 % of users and sessions" in page
    assert '<tr id="ab-arm-champion"><td>champion</td>\n      <td>v1 (12)</td>' in page
    assert '<tr id="ab-arm-challenger"><td>challenger</td>\n      <td>v2 (3)</td>' in page
    assert "50 ms" in page and "80 ms" in page
    assert "no significant difference yet — about" in page
    assert "2 requests assigned to the challenger were answered by the champion" in page


def test_models_page_says_how_to_start_an_experiment_when_there_is_none(staff_client):
    page = staff_client.get("/mlops/models/").content.decode()

    assert "No A/B test yet" in page
