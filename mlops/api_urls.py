"""Routes of /api/v1/mlops/: viewsets on a router, plus the few paths a router cannot spell.

To add an endpoint, register its viewset on ``router`` (no trailing slash, as every path here).
"""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import monitoring, tracking
from .experiments import api as ab_api
from .lifecycle import api as lifecycle_api

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
    path("promotion/check", lifecycle_api.PromotionCheckView.as_view(), name="mlops-api-promotion-check"),
    path("promotion/promote", lifecycle_api.PromoteView.as_view(), name="mlops-api-promote"),
    path("promotion/rollback", lifecycle_api.RollbackView.as_view(), name="mlops-api-rollback"),
    path("promotion/records", lifecycle_api.PromotionRecordsView.as_view(), name="mlops-api-promotion-records"),
    path("serving-processes", lifecycle_api.ServingProcessesView.as_view(), name="mlops-api-serving-processes"),
    path("ab-tests", ab_api.AbTestsView.as_view(), name="mlops-api-ab-tests"),
    path("ab-tests/<int:experiment_id>", ab_api.AbTestView.as_view(), name="mlops-api-ab-test"),
    path("ab-tests/<int:experiment_id>/start", ab_api.AbTestStartView.as_view(), name="mlops-api-ab-test-start"),
    path("ab-tests/<int:experiment_id>/stop", ab_api.AbTestStopView.as_view(), name="mlops-api-ab-test-stop"),
]
