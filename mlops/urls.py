from django.urls import path

from . import metrics, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("mlops/", views.dashboard, name="mlops-dashboard"),
    path("metrics", metrics.metrics_view, name="prometheus-metrics"),
]
