"""manage.py ensure_admin_user: a first superuser whose password is never left readable by others."""

import stat

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_a_generated_password_is_written_to_a_file_only_its_owner_can_read(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.NUTRILEARN_ADMIN_PASSWORD = None

    call_command("ensure_admin_user")

    path = settings.VAR_DIR / "admin-password.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert User.objects.get(username="admin").check_password(path.read_text().strip())


def test_a_password_from_the_environment_is_never_written_to_disk(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    settings.NUTRILEARN_ADMIN_PASSWORD = "pw-from-the-environment-123"

    call_command("ensure_admin_user")

    assert not (settings.VAR_DIR / "admin-password.txt").exists()
    assert User.objects.get(username="admin").check_password("pw-from-the-environment-123")


def test_nothing_changes_once_a_superuser_exists(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    User.objects.create_superuser("root", "", "pw-root-1234567")

    call_command("ensure_admin_user")

    assert not User.objects.filter(username="admin").exists()
    assert not (settings.VAR_DIR / "admin-password.txt").exists()
