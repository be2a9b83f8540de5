from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mlops.labelling.services import ExportInvalid, labels_export


class Command(BaseCommand):
    help = (
        "Write the labelled photos (each prediction's standing label: staff labels before the user's own feedback) as an "
        "ImageFolder, one folder per food key, that `manage.py train` accepts. A manifest labels.json lists the label ids "
        "and photo hashes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="A new or empty folder.")
        parser.add_argument("--include-not-food", action="store_true", help="Also write 'not food' photos, as a no_food class.")

    def handle(self, *args, out: Path, include_not_food: bool, **options):
        try:
            export = labels_export(out_dir=out, include_not_food=include_not_food)
        except ExportInvalid as exc:
            raise CommandError(str(exc)) from exc
        classes = ", ".join(f"{name} {count}" for name, count in sorted(export.counts.items())) or "none"
        self.stdout.write(self.style.SUCCESS(f"Wrote {export.image_count} labelled photos to {export.root} ({classes})."))
        if export.skipped:
            self.stdout.write(self.style.WARNING(f"{export.skipped} labelled photos are missing from storage and were left out."))
        if len(export.counts) < 2:
            self.stdout.write(self.style.WARNING("train needs at least two classes with two photos each."))
