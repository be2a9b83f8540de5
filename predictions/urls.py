from django.urls import path

from . import views

app_name = "predictions"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("predictions/<int:prediction_id>/", views.detail, name="detail"),
    path("predictions/<int:prediction_id>/feedback", views.feedback, name="feedback"),
    path("history", views.history, name="history"),
]
