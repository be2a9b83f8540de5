"""Prometheus metrics: request latency, predictions by food and model version, confidence, mirror backlog.

Under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` to an empty,
writable directory before the processes start (prometheus-client picks its value
store at import); each worker then writes its samples to files there and ``/metrics``
merges them. Call ``mark_process_dead`` from gunicorn's ``child_exit`` hook. The
mirror backlog is read from the database at scrape time, so it is right whichever
worker answers.
"""

from __future__ import annotations

import hmac
import os
import time

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0)
CONFIDENCE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)

REQUEST_LATENCY = Histogram(
    "nutrilearn_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and status code class.",
    ["method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
PREDICTIONS = Counter(
    "nutrilearn_predictions",  # exposed as nutrilearn_predictions_total
    "Recognition requests recorded, by outcome, food and model version.",
    ["status", "food", "model_version"],
)
CONFIDENCE = Histogram(
    "nutrilearn_prediction_confidence",
    "Confidence of the top food of successful predictions, by model version.",
    ["model_version"],
    buckets=CONFIDENCE_BUCKETS,
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def prediction_observe(prediction) -> None:
    """Count one recorded prediction and its confidence (called once per new row)."""
    food = prediction.food.key if prediction.food_id else ("no_food" if prediction.no_food else "")
    PREDICTIONS.labels(status=prediction.status, food=food, model_version=prediction.model_version or "").inc()
    if prediction.confidence is not None:
        CONFIDENCE.labels(model_version=prediction.model_version or "").observe(prediction.confidence)


def prediction_saved(sender, instance, created: bool, **kwargs) -> None:
    """post_save receiver: count each new Prediction row (bulk_create is not counted).

    Counted at save rather than on commit: the row is saved in its own short transaction,
    and an on-commit hook would add a callback to every upload's transaction.
    """
    if created:
        prediction_observe(instance)


class MirrorBacklogCollector:
    """Gauges of the MLflow mirror backlog, read from the database at scrape time."""

    def collect(self):
        from .selectors import mirror_backlog

        backlog = mirror_backlog()
        count = GaugeMetricFamily("nutrilearn_mirror_backlog_predictions", "Successful predictions not yet mirrored into MLflow.")
        count.add_metric([], backlog["count"])
        age = GaugeMetricFamily(
            "nutrilearn_mirror_backlog_oldest_age_seconds", "Age of the oldest prediction not yet mirrored into MLflow (0 when none)."
        )
        age.add_metric([], backlog["oldest_age_seconds"])
        yield count
        yield age


def scrape_registry() -> CollectorRegistry:
    """A registry for one scrape: this process's metrics, or every worker's in multiprocess mode, plus the backlog."""
    from prometheus_client import REGISTRY

    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessMetrics(REGISTRY))
    registry.register(MirrorBacklogCollector())
    return registry


class _ProcessMetrics:
    """Adapts the default registry (this process's metrics) to be one collector of the scrape registry."""

    def __init__(self, source):
        self._source = source

    def collect(self):
        return self._source.collect()


def mark_process_dead(pid: int) -> None:
    """For gunicorn's child_exit hook in multiprocess mode: drop the dead worker's live gauges."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


def scrape_allowed(request) -> bool:
    """A scraper may read /metrics from an allowed address (``NUTRILEARN_METRICS_ALLOWED_IPS``) or with the bearer token
    (``NUTRILEARN_METRICS_TOKEN``); anyone else may not (each scrape runs a database query)."""
    if request.META.get("REMOTE_ADDR", "") in settings.NUTRILEARN_METRICS_ALLOWED_IPS:
        return True
    token = settings.NUTRILEARN_METRICS_TOKEN
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(offered.encode(), token.encode())


@never_cache
def metrics_view(request):
    """GET /metrics in the Prometheus text format, for allowed scrapers only (401 with a Bearer challenge otherwise)."""
    if not scrape_allowed(request):
        response = HttpResponse("Scraping /metrics needs an allowed address or the bearer token.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)


class PrometheusMiddleware:
    """Observes the latency of every request, labelled by route name (not path, to bound cardinality)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match.route) if match is not None else "unmatched"
        REQUEST_LATENCY.labels(method=request.method, route=route, status=f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started
        )
        return response
