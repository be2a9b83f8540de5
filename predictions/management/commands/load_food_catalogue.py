from django.core.management.base import BaseCommand

from predictions.services import food_catalogue_load


class Command(BaseCommand):
    help = "Create or update the food catalogue (nutrition facts per 100 g) from the shipped data file. Idempotent."

    def handle(self, *args, **options):
        count = food_catalogue_load()
        self.stdout.write(self.style.SUCCESS(f"Food catalogue: {count} foods loaded."))
