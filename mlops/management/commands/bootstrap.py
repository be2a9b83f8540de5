from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from mlops.mlflow_store import MlflowUnavailable, experiment_ensure
from nutrilearn.celery import broker_folders_ensure


class Command(BaseCommand):
    help = (
        "Prepare a fresh installation before the app starts; idempotent: the embedded broker's folders, the MLflow experiment, "
        "the food catalogue, the bundled model registered as champion and the default alert rules."
    )

    def handle(self, *args, **options):
        broker_folders_ensure()
        try:
            experiment = experiment_ensure()
        except MlflowUnavailable as exc:
            raise CommandError(f"The MLflow store is not reachable: {exc}") from exc
        self.stdout.write(f"MLflow experiment id {experiment}.")
        call_command("load_food_catalogue", stdout=self.stdout)
        call_command("register_bundled_model", stdout=self.stdout)
        call_command("ensure_alert_rules", stdout=self.stdout)
