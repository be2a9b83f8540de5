from django.core.management.base import BaseCommand

from mlops.rollups import rollups_refresh_job


class Command(BaseCommand):
    help = (
        "Bring the monitoring rollups up to date now (what the beat task monitoring-rollups does); "
        "--rebuild recomputes every day, as a backfill of existing predictions. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recompute every day from the first prediction")

    def handle(self, *args, **options):
        outcome = rollups_refresh_job(rebuild=options["rebuild"])
        self.stdout.write(
            f"{outcome['days']} days recomputed, {outcome['user_predictions_added']} predictions added to the user totals; "
            f"days before {outcome['complete_before']} are final."
        )
