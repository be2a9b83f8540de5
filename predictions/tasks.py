"""Celery tasks of the predictions app: thin wrappers around a service, recorded as job runs."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils.module_loading import import_string

from mlops.jobs import Job, job_recorded

from .photo_storage import orphaned_photos_remove


@shared_task
def orphaned_photos_clean() -> int:
    """Remove photo files that no prediction refers to, older than ``NUTRILEARN_ORPHAN_GRACE_MINUTES``; idempotent."""
    with job_recorded(Job.ORPHANED_PHOTOS_REMOVE) as record:
        record.items = orphaned_photos_remove(older_than=timedelta(minutes=settings.NUTRILEARN_ORPHAN_GRACE_MINUTES))
    return record.items


@shared_task
def expired_sessions_clear() -> int:
    """Delete the sessions past their expiry date (as ``manage.py clearsessions``), counting them; idempotent."""
    store: type[SessionBase] = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    with job_recorded(Job.SESSIONS_CLEAR) as record:
        record.items = store.clear_expired() or 0
    return record.items
