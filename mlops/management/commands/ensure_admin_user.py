import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a first staff user 'admin' when no superuser exists, with a random password written to "
        "var/admin-password.txt (or NUTRILEARN_ADMIN_PASSWORD). Idempotent."
    )

    def handle(self, *args, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        password = settings.NUTRILEARN_ADMIN_PASSWORD or secrets.token_urlsafe(12)
        users.objects.create_superuser("admin", "", password)
        path = settings.VAR_DIR / "admin-password.txt"
        path.write_text(password + "\n")
        path.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Created superuser 'admin'; its password is in {path}."))
