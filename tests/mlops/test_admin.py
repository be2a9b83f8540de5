"""The mlops admin: alert rules are editable; jobs, reports, alerts and deliveries are read-only."""

import pytest
from django.utils import timezone

from mlops.alerts import alert_rules_ensure_defaults
from mlops.models import Alert, AlertDelivery, AlertRule, DriftReport, JobRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    alert_rules_ensure_defaults()
    now = timezone.now()
    alert = Alert.objects.create(rule=AlertRule.objects.first(), value=25.0, last_value=25.0, message="High error rate: 25")
    AlertDelivery.objects.create(alert=alert, channel="webhook", target="http://hooks.example/x", attempts=3, error="HTTP 500")
    DriftReport.objects.create(baseline_start=now, baseline_end=now, recent_start=now, recent_end=now, verdict="no_drift", results={})
    JobRun.objects.create(name="drift_report", status="failed", error="boom")


@pytest.mark.parametrize("model", ["alertrule", "alert", "alertdelivery", "driftreport", "jobrun"])
def test_every_mlops_list_page_shows_its_rows(admin_client, rows, model):
    response = admin_client.get(f"/admin/mlops/{model}/")

    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


def test_records_are_named_by_what_they_are_in_admin(admin_client, rows):
    from mlops.models import Evaluation, ModelEvent

    ModelEvent.objects.create(kind="promoted", model_name="food-classifier", model_version="3", alias="champion")
    Evaluation.objects.create(
        model_name="food-classifier", model_version="3", source="feedback", accuracy=0.8125, precision=0.8, recall=0.7, f1_score=0.75
    )

    names = {
        model: str(model_class.objects.get())
        for model, model_class in [
            ("alert", Alert), ("alertdelivery", AlertDelivery), ("driftreport", DriftReport), ("modelevent", ModelEvent),
            ("evaluation", Evaluation),
        ]
    }  # fmt: skip

    assert names["alert"].startswith("High error rate (open) opened ")
    assert names["alertdelivery"] == f"opened alert {Alert.objects.get().pk} by webhook to http://hooks.example/x: failed"
    assert names["driftreport"].startswith("Drift report up to ") and names["driftreport"].endswith(": no_drift")
    assert names["modelevent"].startswith("Promoted: food-classifier v3 (champion) at ")
    assert names["evaluation"] == "food-classifier v3 on user feedback: accuracy 0.812"
    page = admin_client.get("/admin/mlops/alertdelivery/").content.decode()
    assert "High error rate (open)" in page
    assert "object (" not in page


def test_an_alert_rule_threshold_can_be_edited(admin_client, rows):
    rule = AlertRule.objects.get(name="High error rate")

    response = admin_client.post(
        f"/admin/mlops/alertrule/{rule.pk}/change/",
        {"name": rule.name, "enabled": "on", "metric": rule.metric, "operator": "gt", "threshold": "15", "window_minutes": "30",
         "email_to": "ops@example.com", "webhook_url": ""},
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.threshold, rule.window_minutes, rule.email_to) == (15.0, 30, "ops@example.com")


@pytest.mark.parametrize("model", ["alert", "alertdelivery", "driftreport", "jobrun"])
def test_background_records_cannot_be_added_or_changed(admin_client, rows, model):
    assert admin_client.get(f"/admin/mlops/{model}/add/").status_code == 403
    obj = {"alert": Alert, "alertdelivery": AlertDelivery, "driftreport": DriftReport, "jobrun": JobRun}[model].objects.first()
    page = admin_client.get(f"/admin/mlops/{model}/{obj.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
