from django.core.management.base import BaseCommand, CommandError

from mlops.mlflow_store import MlflowRejected, MlflowUnavailable
from mlops.services import bundled_model_register


class Command(BaseCommand):
    help = (
        "Register the bundled EfficientNet-Lite0 (ImageNet) as a version of the registered model with alias champion. "
        "Idempotent: nothing changes when a champion exists."
    )

    def handle(self, *args, **options):
        try:
            ref, created = bundled_model_register()
        except (MlflowUnavailable, MlflowRejected) as exc:
            raise CommandError(f"The model registry is not reachable: {exc}") from exc
        if created:
            self.stdout.write(self.style.SUCCESS(f"Registered the bundled model as {ref.name} version {ref.version} (champion)."))
        else:
            self.stdout.write(f"Champion is {ref.name} version {ref.version}; nothing to do.")
