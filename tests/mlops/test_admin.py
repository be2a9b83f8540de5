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
