"""The Models, Alerts and Jobs pages, and the API documentation they link to."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from mlops import mlflow_store
from mlops.alerts import AlertAcknowledgeRefused, alert_acknowledge
from mlops.models import Alert, AlertRule, Evaluation, JobRun

pytestmark = pytest.mark.django_db


def test_models_lists_registry_versions_with_aliases_and_compares_two_evaluation_runs(staff_client, mlflow_client, settings):
    name = settings.MLFLOW_REGISTERED_MODEL_NAME
    mlflow_client.create_registered_model(name)
    for _ in range(2):
        mlflow_client.create_model_version(name, source="file:///nowhere", tags={"sha256": "cd" * 32, "dataset": "food-101"})
    mlflow_client.set_registered_model_alias(name, "champion", "2")
    experiment = mlflow_store.experiment_id()
    for version, accuracy in (("1", 0.7), ("2", 0.8)):
        run = mlflow_client.create_run(experiment)
        for metric in ("accuracy", "precision", "recall", "f1_score"):
            mlflow_client.log_metric(run.info.run_id, metric, accuracy)
        Evaluation.objects.create(model_name=name, model_version=version, source="dataset", accuracy=accuracy, precision=accuracy,
                                  recall=accuracy, f1_score=accuracy, sample_count=100, mlflow_run_id=run.info.run_id)  # fmt: skip

    page = staff_client.get("/mlops/models/").content.decode()

    assert re.search(r'id="version-2">.*?<span class="pill succeeded">champion</span>', page, re.S)
    assert "cdcdcdcdcdcd" in page and "food-101" in page
    assert "better overall (F1, then accuracy): <strong>version 2</strong>" in page
    assert re.search(r"<td>accuracy</td><td class=\"num\">0.700</td><td class=\"num\">0.800</td><td class=\"num\">0.100</td>", page)
    assert 'id="chart-evaluations" data-figure' in page
    assert 'id="lifecycle-controls"' in page


def test_models_says_when_the_registry_cannot_be_read_and_keeps_the_database_figures(staff_client, settings, filled):
    settings.MLFLOW_TRACKING_URI = "http://127.0.0.1:9"
    mlflow_store.reset_client()

    page = staff_client.get("/mlops/models/").content.decode()

    assert "The model registry cannot be read right now" in page
    assert re.search(r'id="version-2">', page)  # from the evaluations
    assert re.search(r'Per class: version 2.*<td>salad</td><td class="num">0.500</td>', page, re.S)  # weakest class first


def test_models_without_feedback_says_when_calibration_appears(staff_client):
    page = staff_client.get("/mlops/models/").content.decode()

    assert "No feedback yet: calibration appears once users answer &#x27;Was this right?&#x27;." in page


def test_alerts_show_rule_values_duration_deliveries_and_link_the_rule(staff_client, filled):
    alert = filled["alert"]

    page = staff_client.get("/mlops/alerts/").content.decode()

    row = re.search(rf'id="alert-{alert.pk}">(.*?)</tr>', page, re.S).group(1)
    assert f'href="/admin/mlops/alertrule/{alert.rule.pk}/change/"' in row
    assert "12.500" in row and "14.000" in row and "so far" in row
    assert "failed after 3 attempts (connection refused)" in row
    assert "Acknowledge</button>" in row
    assert page.index(f'id="alert-{alert.pk}"') < page.index(f'id="alert-{filled["resolved"].pk}"')  # open first


def test_acknowledging_records_who_and_when_once(staff_client, filled):
    alert = filled["alert"]

    response = staff_client.post(f"/mlops/alerts/{alert.pk}/acknowledge", {"next": "/mlops/alerts/?days=30"})
    again = staff_client.post(f"/mlops/alerts/{alert.pk}/acknowledge")

    alert.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == "/mlops/alerts/?days=30"
    assert alert.acknowledged_by.get_username() == "ops" and alert.acknowledged_at is not None
    assert again.status_code == 409 and "already acknowledged by ops" in again.content.decode()


def test_a_resolved_alert_cannot_be_acknowledged(filled, django_user_model):
    with pytest.raises(AlertAcknowledgeRefused, match="is resolved"):
        alert_acknowledge(alert=filled["resolved"], user=django_user_model.objects.create_user("someone"))


def test_acknowledging_never_redirects_off_the_site(staff_client, filled):
    response = staff_client.post(f"/mlops/alerts/{filled['alert'].pk}/acknowledge", {"next": "https://evil.example.com/"})

    assert response["Location"] == "/mlops/alerts/"


def test_the_status_filter_keeps_only_resolved_alerts(staff_client, filled):
    page = staff_client.get("/mlops/alerts/", {"status": "resolved"}).content.decode()

    assert f'id="alert-{filled["resolved"].pk}"' in page and f'id="alert-{filled["alert"].pk}"' not in page


def test_jobs_list_failed_ones_first_with_duration_and_error(staff_client):
    now = timezone.now()
    JobRun.objects.create(name="mirror_batch", status=JobRun.Status.SUCCEEDED, finished_at=now + timedelta(seconds=2), items=40)
    failed = JobRun.objects.create(name="drift_report", status=JobRun.Status.FAILED, finished_at=now, error="database is locked")
    JobRun.objects.filter(pk=failed.pk).update(started_at=now - timedelta(hours=3))

    page = staff_client.get("/mlops/jobs/").content.decode()
    only_mirror = staff_client.get("/mlops/jobs/", {"name": "mirror_batch"}).content.decode()

    rows = re.findall(r'<tr id="job-\d+"><td><a[^>]*>(\w+)</a>', page)
    assert rows == ["drift_report", "mirror_batch"]
    assert "database is locked" in page and re.search(r'<td class="num">\d\.\d s</td>', page)
    assert "1 failed" in page and "1 succeeded" in page
    assert re.findall(r'<tr id="job-\d+"><td><a[^>]*>(\w+)</a>', only_mirror) == ["mirror_batch"]


def test_jobs_refuse_an_unknown_outcome(staff_client):
    response = staff_client.get("/mlops/jobs/", {"status": "exploded"})

    assert response.status_code == 400


def test_api_documentation_is_served_without_a_cdn(staff_client):
    swagger = staff_client.get("/api/v1/docs").content.decode()
    redoc = staff_client.get("/api/v1/redoc").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in swagger
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in redoc
    assert "cdn" not in (swagger + redoc).lower()
    assert staff_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_the_pages_and_the_admin_link_to_each_other(staff_client, admin_client):
    page = staff_client.get("/mlops/").content.decode()
    admin = admin_client.get("/admin/").content.decode()

    assert 'href="/admin/"' in page and 'href="/api/v1/docs"' in page
    assert 'href="/mlops/">MLOps pages</a>' in admin
    assert AlertRule.objects.count() == 0 and Alert.objects.count() == 0
