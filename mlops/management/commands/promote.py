from django.core.management.base import CommandError

from mlops.management.base import VersionOptionCommand
from mlops.mlflow_store import MlflowRejected, MlflowUnavailable
from mlops.services import PromotionRefused, model_promote


class Command(VersionOptionCommand):
    help = (
        "Move alias champion to a registered version after loading it and running its smoke test here. "
        "Serving processes switch within NUTRILEARN_MODEL_POLL_SECONDS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--version", required=True, help="Registered version number.")
        parser.add_argument("--no-check", action="store_true", help="Skip loading and smoke-testing the version first.")

    def handle(self, *args, version, no_check, **options):
        try:
            event = model_promote(version=version, check=not no_check)
        except (PromotionRefused, MlflowUnavailable, MlflowRejected) as exc:
            raise CommandError(str(exc)) from exc
        if event is None:
            self.stdout.write(f"Version {version} already is the champion.")
        else:
            self.stdout.write(self.style.SUCCESS(event.message))
