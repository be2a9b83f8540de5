from django.urls import path

from . import prometheus, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("mlops/", views.dashboard, name="mlops-dashboard"),
    path("metrics", prometheus.metrics_view, name="prometheus-metrics"),
]
