"""The Celery application. All Celery configuration lives in settings (CELERY_*)."""

import os
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nutrilearn.settings")

app = Celery("nutrilearn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

FILESYSTEM_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


@signals.celeryd_init.connect
@signals.beat_init.connect
def broker_folders_ensure(**_signal_kwargs) -> None:
    """Create the embedded (filesystem) broker's folders; nothing to do for other brokers.

    Run as the worker and beat start and by `manage.py bootstrap`, not when settings are imported.
    """
    options = app.conf.broker_transport_options or {}
    for key in FILESYSTEM_BROKER_FOLDERS:
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
