from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "predictions"
    verbose_name = "Predictions"

    def ready(self):
        from nutrilearn import checks  # noqa: F401  (registers the system checks)

        # PyTorch is imported once, here, in the thread that sets Django up,
        # never for the first time from request threads. (Importing is not loading: the model
        # itself is still loaded lazily, after any fork.)
        from . import inference  # noqa: F401
