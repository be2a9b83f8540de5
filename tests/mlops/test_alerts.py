"""Alert rules: open once, no duplicates while open, resolve, re-open; email and webhook deliveries recorded.

Webhooks are delivered by their own Celery task. Most tests run it in this process (Celery's
eager mode: retries run at once); one test queues it to the in-memory broker and one to a real worker.
"""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from mlops import tasks
from mlops.alerts import alert_rules_ensure_defaults, alerts_evaluate, alerts_evaluate_job
from mlops.models import Alert, AlertDelivery, AlertRule, DriftReport, JobRun
from nutrilearn.celery import app
from predictions.models import Prediction
from tests.mlops.factories import predictions_make
from tests.mlops.processes import start_worker, wait_for
from tests.support.network import unused_port

pytestmark = pytest.mark.django_db

FAILED = Prediction.Status.FAILED


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that records JSON bodies and answers with the queued status codes (then 200).

    ``hold``: an event each request waits for before it is answered (a slow receiver).
    """

    def __init__(self, *, hold: threading.Event | None = None):
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        self.requests_started = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.requests_started += 1
                if hold is not None:
                    hold.wait(timeout=60)
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.NUTRILEARN_ALERT_MIN_SAMPLES = 20
    settings.NUTRILEARN_WEBHOOK_TIMEOUT_SECONDS = 2


@pytest.fixture
def deliveries_in_process():
    """Queued tasks run at once in this process, their retries too (without the backoff wait)."""
    previous = app.conf.task_always_eager
    app.conf.CELERY_TASK_ALWAYS_EAGER = True  # the settings' name: under the CELERY namespace the plain name does not override it
    yield
    app.conf.CELERY_TASK_ALWAYS_EAGER = previous


def queued_tasks(queue: str = "celery") -> list[tuple[str, dict]]:
    """(task name, keyword arguments) of the messages waiting in a queue of the in-memory broker; the queue is emptied."""
    found = []
    with app.connection_for_read() as connection:
        waiting = connection.SimpleQueue(queue)
        while True:
            try:
                message = waiting.get(block=False)
            except waiting.Empty:
                break
            found.append((message.headers["task"], message.decode()[1]))
            message.ack()
        waiting.close()
    return found


def error_rate_rule(**fields) -> AlertRule:
    defaults = {"name": "High error rate", "metric": AlertRule.Metric.ERROR_RATE, "operator": AlertRule.Operator.GT, "threshold": 10.0}
    return AlertRule.objects.create(**{**defaults, **fields})


def requests_made(now, *, ok: int, failed: int, minutes_ago: int = 5):
    at = now - timedelta(minutes=minutes_ago)
    predictions_make(ok, at=at)
    predictions_make(failed, at=at, status=FAILED)


def evaluate(django_capture_on_commit_callbacks, now):
    with django_capture_on_commit_callbacks(execute=True):
        return alerts_evaluate(now=now)


# Default rules -----------------------------------------------------------------------------


def test_default_rules_fire_on_the_unhealthy_service_targets_low_confidence_drift_and_a_stalled_mirror():
    assert alert_rules_ensure_defaults() == 5

    rules = {rule.metric: (rule.operator, rule.threshold) for rule in AlertRule.objects.all()}
    assert rules == {
        "error_rate_percent": ("gt", 10.0),
        "p95_response_time_seconds": ("gt", 5.0),
        "avg_confidence": ("lt", 0.70),
        "drift_detected": ("gt", 0.5),
        "mirror_backlog_age_seconds": ("gt", 600.0),
    }


def test_ensuring_the_defaults_again_creates_nothing_and_keeps_edits():
    alert_rules_ensure_defaults()
    AlertRule.objects.filter(name="High error rate").update(threshold=25.0)

    assert alert_rules_ensure_defaults() == 0
    assert AlertRule.objects.count() == 5
    assert AlertRule.objects.get(name="High error rate").threshold == 25.0


def test_the_ensure_alert_rules_command_reports_what_it_created(capsys):
    call_command("ensure_alert_rules")
    call_command("ensure_alert_rules")

    assert capsys.readouterr().out.splitlines() == [
        "5 alert rules created, 0 already present.",
        "0 alert rules created, 5 already present.",
    ]


# Lifecycle -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("deliveries_in_process")
def test_a_breached_rule_opens_an_alert_and_notifies_by_email_and_webhook(receiver, mailoutbox, django_capture_on_commit_callbacks):
    now = timezone.now()
    rule = error_rate_rule(email_to="ops@example.com, oncall@example.com", webhook_url=receiver.url)
    requests_made(now, ok=15, failed=5)

    [outcome] = evaluate(django_capture_on_commit_callbacks, now)

    alert = Alert.objects.get()
    assert (outcome.action, alert.status, alert.value) == ("opened", "open", 25.0)
    assert "High error rate" in alert.message and "25" in alert.message
    assert [mail.to for mail in mailoutbox] == [["ops@example.com", "oncall@example.com"]]
    assert mailoutbox[0].subject == "[NutriLearn] OPEN: High error rate"
    assert [(body["event"], body["rule"]["name"], body["alert"]["value"]) for body in receiver.bodies] == [("opened", rule.name, 25.0)]
    deliveries = sorted(AlertDelivery.objects.values_list("channel", "event", "delivered", "attempts"))
    assert deliveries == [("email", "opened", True, 1), ("webhook", "opened", True, 1)]


@pytest.mark.usefixtures("deliveries_in_process")
def test_an_open_alert_is_not_opened_or_notified_again_while_the_condition_holds(receiver, django_capture_on_commit_callbacks):
    now = timezone.now()
    error_rate_rule(webhook_url=receiver.url)
    requests_made(now, ok=15, failed=5)
    evaluate(django_capture_on_commit_callbacks, now)
    requests_made(now, ok=0, failed=5, minutes_ago=1)

    [outcome] = evaluate(django_capture_on_commit_callbacks, now)

    assert outcome.action == "still_open"
    assert Alert.objects.count() == 1
    assert Alert.objects.get().last_value == 40.0
    assert len(receiver.bodies) == 1


def test_the_database_refuses_a_second_open_alert_for_a_rule():
    # What keeps two evaluators running at once from opening the same alert twice.
    rule = error_rate_rule()
    Alert.objects.create(rule=rule, value=20.0)

    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(rule=rule, value=30.0)
    Alert.objects.create(rule=rule, value=30.0, status=Alert.Status.RESOLVED)
    assert Alert.objects.filter(rule=rule).count() == 2


@pytest.mark.usefixtures("deliveries_in_process")
def test_the_alert_resolves_when_the_condition_clears_and_a_new_one_opens_later(receiver, django_capture_on_commit_callbacks):
    now = timezone.now()
    rule = error_rate_rule(webhook_url=receiver.url, window_minutes=30)
    requests_made(now, ok=15, failed=5)
    evaluate(django_capture_on_commit_callbacks, now)

    requests_made(now, ok=200, failed=0, minutes_ago=10)
    [resolved] = evaluate(django_capture_on_commit_callbacks, now)
    later = now + timedelta(hours=1)
    requests_made(later, ok=10, failed=20)
    [reopened] = evaluate(django_capture_on_commit_callbacks, later)

    assert (resolved.action, reopened.action) == ("resolved", "opened")
    first, second = Alert.objects.filter(rule=rule).order_by("opened_at", "pk")
    assert (first.status, first.resolved_at, first.last_value) == ("resolved", now, pytest.approx(100 * 5 / 220, abs=1e-3))
    assert second.status == "open"
    assert [body["event"] for body in receiver.bodies] == ["opened", "resolved", "opened"]


def test_rejected_uploads_do_not_open_the_default_error_rate_alert(django_capture_on_commit_callbacks):
    now = timezone.now()
    alert_rules_ensure_defaults()
    AlertRule.objects.exclude(metric=AlertRule.Metric.ERROR_RATE).update(enabled=False)
    requests_made(now, ok=15, failed=1)
    predictions_make(10, at=now - timedelta(minutes=5), status=Prediction.Status.REJECTED)

    [outcome] = evaluate(django_capture_on_commit_callbacks, now)

    assert (outcome.action, outcome.value) == ("clear", pytest.approx(100 / 26, abs=1e-3))
    assert not Alert.objects.exists()


def test_a_rule_with_too_little_data_neither_fires_nor_resolves(django_capture_on_commit_callbacks):
    now = timezone.now()
    error_rate_rule()
    requests_made(now, ok=2, failed=8)

    [outcome] = evaluate(django_capture_on_commit_callbacks, now)

    assert outcome.action == "insufficient_data"
    assert not Alert.objects.exists()


def test_disabled_rules_are_not_evaluated(django_capture_on_commit_callbacks):
    now = timezone.now()
    error_rate_rule(enabled=False)
    requests_made(now, ok=15, failed=15)

    assert evaluate(django_capture_on_commit_callbacks, now) == []
    assert not Alert.objects.exists()


def test_low_average_confidence_opens_an_alert(django_capture_on_commit_callbacks):
    now = timezone.now()
    AlertRule.objects.create(name="Low confidence", metric=AlertRule.Metric.AVG_CONFIDENCE, operator=AlertRule.Operator.LT, threshold=0.7)
    predictions_make(20, at=now - timedelta(minutes=10), confidence=0.55)
    predictions_make(10, at=now - timedelta(minutes=10), confidence=0.85)

    [outcome] = evaluate(django_capture_on_commit_callbacks, now)

    assert outcome.action == "opened"
    assert outcome.value == pytest.approx(0.65)


def test_a_slow_p95_latency_opens_an_alert(django_capture_on_commit_callbacks):
    now = timezone.now()
    AlertRule.objects.create(name="Slow", metric=AlertRule.Metric.P95_LATENCY, operator=AlertRule.Operator.GT, threshold=5.0)
    predictions_make(18, at=now - timedelta(minutes=10), latency=0.3)
    predictions_make(2, at=now - timedelta(minutes=10), latency=9.0)

    [outcome] = evaluate(django_capture_on_commit_callbacks, now)

    assert outcome.action == "opened"
    assert outcome.value > 5.0


def test_the_drift_rule_follows_the_latest_scheduled_drift_report(django_capture_on_commit_callbacks):
    now = timezone.now()
    AlertRule.objects.create(name="Drift", metric=AlertRule.Metric.DRIFT, operator=AlertRule.Operator.GT, threshold=0.5)
    windows = {"baseline_start": now, "baseline_end": now, "recent_start": now, "recent_end": now}

    drifting = {"drifting_checks": ["prediction"]}
    DriftReport.objects.create(**windows, drift_detected=True, verdict="drift", scheduled=True, results=drifting)
    [opened] = evaluate(django_capture_on_commit_callbacks, now)
    # An on-demand report from the API (any threshold a user asked for) does not move alerts.
    DriftReport.objects.create(**windows, drift_detected=False, verdict="no_drift", scheduled=False)
    [kept] = evaluate(django_capture_on_commit_callbacks, now)
    DriftReport.objects.create(**windows, drift_detected=False, verdict="no_drift", scheduled=True)
    [resolved] = evaluate(django_capture_on_commit_callbacks, now)

    assert (opened.action, kept.action, resolved.action) == ("opened", "still_open", "resolved")
    assert "prediction" in Alert.objects.get().message


def test_no_drift_report_yet_is_not_an_alert(django_capture_on_commit_callbacks):
    AlertRule.objects.create(name="Drift", metric=AlertRule.Metric.DRIFT, operator=AlertRule.Operator.GT, threshold=0.5)

    [outcome] = evaluate(django_capture_on_commit_callbacks, timezone.now())

    assert outcome.action == "insufficient_data"


def test_an_old_unmirrored_prediction_opens_the_backlog_alert(django_capture_on_commit_callbacks):
    now = timezone.now()
    AlertRule.objects.create(name="Backlog", metric=AlertRule.Metric.MIRROR_BACKLOG_AGE, operator=AlertRule.Operator.GT, threshold=600)
    predictions_make(1, at=now - timedelta(minutes=20), mirrored=False)

    [outcome] = evaluate(django_capture_on_commit_callbacks, now)

    assert outcome.action == "opened"
    assert outcome.value >= 20 * 60


# Deliveries ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("deliveries_in_process")
def test_a_failing_webhook_is_retried_a_bounded_number_of_times_and_recorded(receiver, django_capture_on_commit_callbacks):
    now = timezone.now()
    error_rate_rule(webhook_url=receiver.url)
    receiver.statuses = [500, 500, 500, 500]
    requests_made(now, ok=15, failed=5)

    evaluate(django_capture_on_commit_callbacks, now)

    delivery = AlertDelivery.objects.get()
    assert (delivery.delivered, delivery.attempts) == (False, 3)
    assert delivery.error.startswith("HTTP 500")
    assert len(receiver.bodies) == 3
    assert Alert.objects.get().status == "open"


@pytest.mark.usefixtures("deliveries_in_process")
def test_a_webhook_that_recovers_on_a_retry_is_delivered(receiver, django_capture_on_commit_callbacks):
    now = timezone.now()
    error_rate_rule(webhook_url=receiver.url)
    receiver.statuses = [503]
    requests_made(now, ok=15, failed=5)

    evaluate(django_capture_on_commit_callbacks, now)

    delivery = AlertDelivery.objects.get()
    assert (delivery.delivered, delivery.attempts, delivery.error) == (True, 2, "")


@pytest.mark.usefixtures("deliveries_in_process")
def test_a_webhook_refusing_the_request_is_not_retried(receiver, django_capture_on_commit_callbacks):
    now = timezone.now()
    error_rate_rule(webhook_url=receiver.url)
    receiver.statuses = [404]
    requests_made(now, ok=15, failed=5)

    evaluate(django_capture_on_commit_callbacks, now)

    delivery = AlertDelivery.objects.get()
    assert (delivery.delivered, delivery.attempts) == (False, 1)
    assert delivery.error.startswith("HTTP 404")


@pytest.mark.usefixtures("deliveries_in_process")
def test_an_unreachable_webhook_is_recorded_as_a_failed_delivery(django_capture_on_commit_callbacks):
    now = timezone.now()
    url = f"http://127.0.0.1:{unused_port()}/hook"
    error_rate_rule(webhook_url=url)
    requests_made(now, ok=15, failed=5)

    evaluate(django_capture_on_commit_callbacks, now)

    delivery = AlertDelivery.objects.get()
    assert (delivery.target, delivery.delivered, delivery.attempts) == (url, False, 3)
    assert "ConnectionError" in delivery.error


def test_an_unreachable_mail_server_is_recorded_as_a_failed_delivery(settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", unused_port(), 2
    now = timezone.now()
    error_rate_rule(email_to="ops@example.com")
    requests_made(now, ok=15, failed=5)

    evaluate(django_capture_on_commit_callbacks, now)

    delivery = AlertDelivery.objects.get()
    assert (delivery.channel, delivery.delivered) == ("email", False)
    assert "ConnectionRefusedError" in delivery.error


def test_alert_evaluation_queues_the_webhook_for_a_worker_instead_of_calling_the_receiver(receiver, django_capture_on_commit_callbacks):
    now = timezone.now()
    error_rate_rule(webhook_url=receiver.url)
    requests_made(now, ok=15, failed=5)
    queued_tasks()  # whatever earlier tests left in the in-memory broker

    [outcome] = evaluate(django_capture_on_commit_callbacks, now)

    queued = AlertDelivery.objects.get()
    assert (outcome.action, receiver.bodies) == ("opened", [])
    assert (queued.channel, queued.target, queued.attempts, queued.delivered) == ("webhook", receiver.url, 0, False)
    [(task, kwargs)] = queued_tasks()
    assert (task, kwargs) == ("mlops.tasks.alert_webhook_deliver", {"delivery_id": queued.pk})
    assert tasks.alert_webhook_deliver.apply(kwargs=kwargs).get() is True
    assert [body["event"] for body in receiver.bodies] == ["opened"]


@pytest.mark.usefixtures("deliveries_in_process")
def test_a_delivered_webhook_is_not_sent_again_when_its_task_runs_twice(receiver, django_capture_on_commit_callbacks):
    now = timezone.now()
    error_rate_rule(webhook_url=receiver.url)
    requests_made(now, ok=15, failed=5)
    evaluate(django_capture_on_commit_callbacks, now)

    again = tasks.alert_webhook_deliver.apply(kwargs={"delivery_id": AlertDelivery.objects.get().pk}).get()

    assert again is True
    assert len(receiver.bodies) == 1
    assert AlertDelivery.objects.get().attempts == 1


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_a_slow_webhook_receiver_never_holds_up_alert_evaluation(transactional_db, tmp_path, broker, workers):
    release = threading.Event()
    with WebhookReceiver(hold=release) as receiver:
        error_rate_rule(webhook_url=receiver.url)
        requests_made(timezone.now(), ok=15, failed=5)
        unused_store = f"sqlite:///{tmp_path / 'mlflow.db'}"
        slow_settings = {"NUTRILEARN_WEBHOOK_TIMEOUT_SECONDS": "60", "NUTRILEARN_ALERT_EVALUATE_SECONDS": "3600"}
        workers.append(start_worker(tmp_path, broker, unused_store, **slow_settings))

        counts = alerts_evaluate_job()
        # Evaluation is over; the worker's request is still waiting for the receiver.
        wait_for(lambda: receiver.requests_started == 1, timeout=60, what="the worker calling the webhook")
        waiting = AlertDelivery.objects.get()
        release.set()
        wait_for(lambda: AlertDelivery.objects.get().delivered, timeout=60, what="the webhook delivered")

    assert counts == {"opened": 1}
    assert (waiting.delivered, waiting.attempts) == (False, 0)
    assert AlertDelivery.objects.get().attempts == 1
    assert [body["event"] for body in receiver.bodies] == ["opened"]


# The periodic task --------------------------------------------------------------------------


def test_the_task_evaluates_the_rules_and_records_a_job_when_an_alert_opens(django_capture_on_commit_callbacks):
    error_rate_rule()
    requests_made(timezone.now(), ok=15, failed=5)

    with django_capture_on_commit_callbacks(execute=True):
        counts = tasks.alerts_evaluate.apply().get()
        again = alerts_evaluate_job()

    assert (counts, again) == ({"opened": 1}, {"still_open": 1})
    job = JobRun.objects.get(name="alerts_evaluate")
    assert (job.status, job.items) == ("succeeded", 1)
