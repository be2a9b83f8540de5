"""Experiments in the admin: a draft is checked against the registry, started and stopped with actions."""

import pytest

from mlops.experiments.models import Experiment

pytestmark = pytest.mark.django_db

ADD = "/admin/mlops/experiment/add/"
CHANGELIST = "/admin/mlops/experiment/"


def test_staff_create_a_draft_of_registered_versions_and_start_it(admin_client, registered_versions):
    response = admin_client.post(ADD, {"name": "v2", "champion_version": "1", "challenger_version": "2", "challenger_share": "0.1"})
    experiment = Experiment.objects.get()

    admin_client.post(CHANGELIST, {"action": "start", "_selected_action": [experiment.pk]})

    assert response.status_code == 302
    experiment.refresh_from_db()
    assert (experiment.status, experiment.created_by.username, experiment.started_by.username) == ("running", "admin", "admin")


def test_an_unregistered_version_is_refused_on_the_form(admin_client, registered_versions):
    response = admin_client.post(ADD, {"champion_version": "1", "challenger_version": "8", "challenger_share": "0.1"})

    assert response.status_code == 200
    assert "The model registry has no version 8." in response.content.decode()
    assert not Experiment.objects.exists()


def test_starting_a_second_experiment_says_which_one_runs(admin_client, db):
    running = Experiment.objects.create(champion_version="1", challenger_version="2", challenger_share=0.1, status="running")
    draft = Experiment.objects.create(champion_version="1", challenger_version="3", challenger_share=0.1)

    response = admin_client.post(CHANGELIST, {"action": "start", "_selected_action": [draft.pk]}, follow=True)

    assert f"Experiment {running.pk} is running: stop it before starting another." in response.content.decode()
    assert Experiment.objects.get(pk=draft.pk).status == "draft"
