from django.core.management.base import BaseCommand, CommandError

from mlops.mlflow_store import MlflowRejected, MlflowUnavailable
from mlops.services import PromotionRefused, model_rollback


class Command(BaseCommand):
    help = "Move alias champion back to the version it replaced last (a second rollback undoes the first)."

    def handle(self, *args, **options):
        try:
            event = model_rollback()
        except (PromotionRefused, MlflowUnavailable, MlflowRejected) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(event.message))
