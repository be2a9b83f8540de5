"""The Celery application. All Celery configuration lives in settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nutrilearn.settings")

app = Celery("nutrilearn")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
