from django.core.management.base import BaseCommand, CommandError

from mlops.lifecycle.promotion import model_version_rollback
from mlops.mlflow_store import MlflowRejected, MlflowUnavailable
from mlops.services import PromotionRefused


class Command(BaseCommand):
    help = (
        "Move alias champion back to the version it replaced last (a second rollback undoes the first), after it loads and passes "
        "its smoke test here; recorded as done by 'cli'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reason", required=True, help="Why (recorded with the change).")

    def handle(self, *args, reason, **options):
        try:
            record = model_version_rollback(actor=None, reason=reason)
        except (PromotionRefused, MlflowUnavailable, MlflowRejected) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Champion rolled back from version {record.from_version or 'none'} to {record.to_version}."))
