"""Routes of /api/v1/mlops/: viewsets on a router, plus the few paths a router cannot spell.

To add an endpoint, register its viewset on ``router`` (no trailing slash, as every path here).
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import monitoring, tracking

router = SimpleRouter(trailing_slash=False)
router.register("experiments", tracking.ExperimentViewSet, basename="mlops-api-experiments")
router.register("runs", tracking.RunViewSet, basename="mlops-api-runs")
router.register("model-versions", tracking.ModelVersionViewSet, basename="mlops-api-model-versions")
router.register("metrics", monitoring.MetricViewSet, basename="mlops-api-metrics")
router.register("monitoring", monitoring.MonitoringViewSet, basename="mlops-api-monitoring")

urlpatterns = [
    # The compatibility contract's path for recording an evaluation of a model version (it registers no model).
    path("register-model", tracking.ModelVersionViewSet.as_view({"post": "register"}), name="mlops-api-register-model"),
    *router.urls,
]
