from django.urls import path

from . import api
from .experiments import api as ab_api
from .lifecycle import api as lifecycle_api

urlpatterns = [
    path("experiments", api.ExperimentsView.as_view(), name="mlops-api-experiments"),
    path("runs", api.RunsView.as_view(), name="mlops-api-runs"),
    path("metrics", api.MetricsView.as_view(), name="mlops-api-metrics"),
    path("model-versions", api.ModelVersionsView.as_view(), name="mlops-api-model-versions"),
    path("register-model", api.EvaluationRecordView.as_view(), name="mlops-api-register-model"),  # records an evaluation
    path("monitoring/predictions", api.PredictionStatsView.as_view(), name="mlops-api-predictions"),
    path("monitoring/confidence", api.ConfidenceView.as_view(), name="mlops-api-confidence"),
    path("monitoring/performance", api.PerformanceView.as_view(), name="mlops-api-performance"),
    path("monitoring/drift", api.DriftView.as_view(), name="mlops-api-drift"),
    path("monitoring/health", api.HealthView.as_view(), name="mlops-api-health"),
    path("metrics/history", api.MetricHistoryView.as_view(), name="mlops-api-metric-history"),
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
