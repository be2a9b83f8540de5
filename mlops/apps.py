from django.apps import AppConfig


class MlopsConfig(AppConfig):
    name = "mlops"
    verbose_name = "MLOps"

    def ready(self):
        # MLflow itself is not imported here: a web worker that serves predictions never needs it,
        # and where it does, mlflow_store.client.mlflow_module() imports it once under a lock
        # (two threads importing it for the first time at once break it: mlflow/mlflow#11283).
        from django.db.models.signals import post_save

        from predictions.models import Prediction

        from .prometheus import prediction_saved

        post_save.connect(prediction_saved, sender=Prediction, dispatch_uid="mlops.prometheus.prediction_saved")
