from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"
    verbose_name = "Predictions"

    def ready(self):
        from nutrilearn import checks  # noqa: F401  (registers the system checks)
