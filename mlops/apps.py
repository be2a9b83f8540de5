from django.apps import AppConfig


class MlopsConfig(AppConfig):
    name = "mlops"
    verbose_name = "MLOps"

    def ready(self):
        # MLflow (through the one package that owns it) is imported here, once, in the thread
        # that sets Django up: two request threads importing it for the first time at once
        # leave the process unable to import it ever again (mlflow/mlflow#11283).
        from django.db.models.signals import post_save

        from predictions.models import Prediction

        from . import mlflow_store  # noqa: F401
        from .prometheus import prediction_saved

        post_save.connect(prediction_saved, sender=Prediction, dispatch_uid="mlops.prometheus.prediction_saved")
