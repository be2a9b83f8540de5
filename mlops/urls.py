from django.urls import path

from . import prometheus, views
from .pages import promotion_views
from .pages import views as pages

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", prometheus.metrics_view, name="prometheus-metrics"),
    path("mlops/", pages.overview_page, name="mlops-overview"),
    path("mlops/predictions/", pages.predictions_page, name="mlops-predictions"),
    path("mlops/predictions/<int:prediction_id>/", pages.prediction_detail_page, name="mlops-prediction"),
    path("mlops/predictions/<int:prediction_id>/thumbnail.jpg", pages.prediction_thumbnail, name="mlops-prediction-thumbnail"),
    path("mlops/drift/", pages.drift_page, name="mlops-drift"),
    path("mlops/models/", pages.models_page, name="mlops-models"),
    path("mlops/models/promote/", promotion_views.promote_view, name="mlops-promote"),
    path("mlops/models/rollback/", promotion_views.rollback_view, name="mlops-rollback"),
    path("mlops/alerts/", pages.alerts_page, name="mlops-alerts"),
    path("mlops/alerts/<int:alert_id>/acknowledge", pages.alert_acknowledge_view, name="mlops-alert-acknowledge"),
    path("mlops/jobs/", pages.jobs_page, name="mlops-jobs"),
    path("mlops/labelling/", pages.labelling_page, name="mlops-labelling"),
    path("mlops/labelling/<int:prediction_id>/label", pages.label_create_view, name="mlops-label-create"),
    path("mlops/shadow/", pages.shadow_page, name="mlops-shadow"),
    path("mlops/shadow/<int:shadow_id>/review", pages.shadow_review_view, name="mlops-shadow-review"),
]
