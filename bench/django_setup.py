"""Django for a benchmark: a throwaway folder for the database, media and MLflow store, migrated."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def configure_django(
    workdir: Path, *, database_url: str | None = None, environ: dict[str, str] | None = None, migrate: bool = True
) -> None:
    """Point the test settings at ``workdir`` (never the project's var/), apply ``environ``, migrate (unless a
    process before this one did: a web worker never migrates)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "nutrilearn.test_settings"
    os.environ["NUTRILEARN_VAR_DIR"] = str(workdir / "var")
    os.environ["DJANGO_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir / 'mlflow.db'}"
    os.environ["MLFLOW_ARTIFACT_ROOT"] = (workdir / "artifacts").as_uri()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # A broker from the caller's environment would otherwise receive the benchmark's tasks.
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(environ or {})
    sys.path.insert(0, str(ROOT))

    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0, interactive=False)
