from django.apps import AppConfig


class MlopsConfig(AppConfig):
    name = "mlops"
    verbose_name = "MLOps"

    def ready(self):
        from django.db.models.signals import post_save

        from predictions.models import Prediction

        from .prometheus import prediction_saved

        post_save.connect(prediction_saved, sender=Prediction, dispatch_uid="mlops.prometheus.prediction_saved")
