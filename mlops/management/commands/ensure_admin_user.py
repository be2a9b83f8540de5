import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create a first staff user 'admin' when no superuser exists. Its password is NUTRILEARN_ADMIN_PASSWORD when "
        "set (then nothing is written to disk), otherwise a random one written to var/admin-password.txt, readable by "
        "its owner only. Idempotent."
    )

    def handle(self, *args, **options):
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        if settings.NUTRILEARN_ADMIN_PASSWORD:
            users.objects.create_superuser("admin", "", settings.NUTRILEARN_ADMIN_PASSWORD)
            self.stdout.write(self.style.SUCCESS("Created superuser 'admin' with the password from NUTRILEARN_ADMIN_PASSWORD."))
            return
        password = secrets.token_urlsafe(12)
        path = settings.VAR_DIR / "admin-password.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        # Created with mode 0600, so the password is never readable by others, not even for a moment.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(password + "\n")
        users.objects.create_superuser("admin", "", password)
        self.stdout.write(self.style.SUCCESS(f"Created superuser 'admin'; its password is in {path}."))
