from django.core.management.base import BaseCommand, CommandError

from mlops.registry import RegistryUnavailable, VersionNotFound
from mlops.services import PromotionRefused, model_rollback


class Command(BaseCommand):
    help = "Move alias champion back to the version it replaced last (a second rollback undoes the first)."

    def handle(self, *args, **options):
        try:
            event = model_rollback()
        except (VersionNotFound, PromotionRefused, RegistryUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(event.message))
