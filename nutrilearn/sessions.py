"""Database sessions (``SESSION_ENGINE = "nutrilearn.sessions"``) that write a new session once.

An anonymous upload owns its prediction through a session that the upload creates. Django's
database store spends seven round trips on that: a query for the random key's existence, the
INSERT in a transaction of its own, and, because a created session counts as modified, the
same row written again by the session middleware as the response leaves. This store:

* leaves out the existence query: ``create()`` already retries when the INSERT meets the
  primary key of an existing session (``CreateError``), which is what the query guarded;
* INSERTs a new session in one statement when no transaction is open (a failed INSERT
  then aborts nothing), and in a savepoint as Django does inside one;
* does not write a session again when its data has not changed since this request last
  wrote it (the expiry date it would move was set moments before).

A client that keeps no cookies leaves one session row per upload; ``clear_expired`` (the
hourly ``predictions.tasks.expired_sessions_clear``, or ``manage.py clearsessions``)
deletes them in batches once they expire.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.db import IntegrityError, connections, router
from django.utils import timezone
from django.utils.crypto import get_random_string

CLEAR_BATCH = 10_000  # expired sessions deleted per statement


class SessionStore(db.SessionStore):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._written: tuple[str, bytes] | None = None  # (key, serialized data) of this request's last write

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def _serialized(self, data: dict) -> bytes:
        return self.serializer().dumps(data)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        state = (self.session_key, self._serialized(data))
        if not must_create and state == self._written:
            return None
        obj = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=obj)
        if must_create and not connections[using].in_atomic_block:
            try:
                obj.save(force_insert=True, using=using)
            except IntegrityError:
                raise CreateError from None
        else:
            super().save(must_create=must_create)
        self._written = state
        return None

    def delete(self, session_key=None) -> None:
        super().delete(session_key)
        if session_key is None or (self._written and self._written[0] == session_key):
            self._written = None

    @classmethod
    def clear_expired(cls) -> int:
        """Delete the expired sessions, ``CLEAR_BATCH`` per statement; returns how many."""
        model, now, removed = cls.get_model_class(), timezone.now(), 0
        while keys := list(model.objects.filter(expire_date__lt=now).values_list("session_key", flat=True)[:CLEAR_BATCH]):
            removed += model.objects.filter(session_key__in=keys).delete()[0]
        return removed
