from django.core.management.base import BaseCommand

from mlops.alerts import DEFAULT_RULES, alert_rules_ensure_defaults


class Command(BaseCommand):
    help = "Create the default alert rules that do not exist yet (by name); rules edited in admin are left alone."

    def handle(self, *args, **options):
        created = alert_rules_ensure_defaults()
        self.stdout.write(f"{created} alert rules created, {len(DEFAULT_RULES) - created} already present.")
