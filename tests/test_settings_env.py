"""Settings read from the environment: production refuses to start without a real secret."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_django(**env) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL"))}
    clean.update(DJANGO_SETTINGS_MODULE="nutrilearn.settings", **env)
    code = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_a_secret_key():
    result = start_django(DJANGO_DEBUG="0")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = start_django(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="short")

    assert "too weak" in result.stderr


def test_a_bad_boolean_fails_loudly():
    result = start_django(DJANGO_DEBUG="maybe")

    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_database_url_overrides_the_embedded_sqlite():
    # Reading the setting imports only the settings module: loading the apps (PyTorch, MLflow) would take seconds more.
    engine = "DATABASES['default']['ENGINE']"

    assert setting_value(engine) == "django.db.backends.sqlite3"
    assert setting_value(engine, DATABASE_URL="postgres://postgres@127.0.0.1:5432/nutrilearn") == "django.db.backends.postgresql"


def test_production_settings_pass_the_deployment_checks():
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "MLFLOW_"))}
    clean.update(
        DJANGO_SETTINGS_MODULE="nutrilearn.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="a-long-random-production-secret-0123456789abcdefghij",
        DJANGO_ALLOWED_HOSTS="nutrilearn.example.org",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/nutrilearn",
        REDIS_URL="redis://127.0.0.1:6379/0",
        MLFLOW_TRACKING_URI="http://127.0.0.1:5000",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def setting_value(name: str, **env) -> str:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL", "NUTRILEARN_"))}
    clean.update(DJANGO_SETTINGS_MODULE="nutrilearn.settings", DJANGO_DEBUG="1", **env)
    code = f"from django.conf import settings; print(settings.{name})"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_job_retention_still_honours_its_earlier_variable_name_and_the_new_name_wins():
    assert setting_value("NUTRILEARN_JOB_RETENTION_DAYS") == "7"
    assert setting_value("NUTRILEARN_JOB_RETENTION_DAYS", NUTRILEARN_MIRROR_JOB_RETENTION_DAYS="3") == "3"
    both = {"NUTRILEARN_MIRROR_JOB_RETENTION_DAYS": "3", "NUTRILEARN_JOB_RETENTION_DAYS": "14"}
    assert setting_value("NUTRILEARN_JOB_RETENTION_DAYS", **both) == "14"


def test_a_misspelt_model_source_does_not_stop_the_import_of_settings():
    # It fails the system check nutrilearn.E004 instead (tests/test_checks.py), with a hint.
    assert setting_value("NUTRILEARN_MODEL_SOURCE", NUTRILEARN_MODEL_SOURCE="registy") == "registy"


def test_migrate_creates_the_embedded_database_in_a_fresh_var_folder_even_without_system_checks(tmp_path):
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DATABASE_URL", "NUTRILEARN_", "MLFLOW_"))}
    clean.update(DJANGO_SETTINGS_MODULE="nutrilearn.settings", DJANGO_DEBUG="1", NUTRILEARN_VAR_DIR=str(tmp_path / "fresh" / "var"))
    command = [sys.executable, "manage.py", "migrate", "--noinput", "--skip-checks"]
    result = subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh" / "var" / "db.sqlite3").stat().st_size > 0
