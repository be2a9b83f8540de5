from django.urls import path

from . import api

urlpatterns = [
    path("predict", api.PredictView.as_view(), name="api-predict"),
    path("predictions/<int:prediction_id>", api.PredictionDetailView.as_view(), name="api-prediction"),
    path("predictions/<int:prediction_id>/feedback", api.FeedbackView.as_view(), name="api-feedback"),
    path("foods", api.FoodListView.as_view(), name="api-foods"),
]
