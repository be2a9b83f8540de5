from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError

from mlops.lifecycle.promotion import PERMISSION


class Command(BaseCommand):
    help = (
        f"Give a staff user the permission to promote and roll back model versions ({PERMISSION}), or take it away with "
        "--revoke. The same as ticking it under Users in the admin; superusers always have it."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="Take the permission away.")

    def handle(self, *args, username, revoke, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if not user.is_staff:
            raise CommandError(f"{username!r} is not staff: only staff reach the pages and the API that promote.")
        app_label, codename = PERMISSION.split(".")
        permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        if revoke:
            user.user_permissions.remove(permission)
            self.stdout.write(self.style.SUCCESS(f"{username} may no longer promote or roll back."))
        else:
            user.user_permissions.add(permission)
            self.stdout.write(self.style.SUCCESS(f"{username} may now promote and roll back model versions."))
