"""Publishing a shadow prediction after an upload commits: never raises, never waits on a broker that is down.

Kept apart from ``services`` (which loads the challenger) so the upload path imports nothing heavy.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from nutrilearn.breaker import Breaker
from nutrilearn.celery import app as celery_app

from ..mirror import broker_errors

logger = logging.getLogger(__name__)

SHADOW_TASK = "mlops.shadow.tasks.shadow_predict"

# After a broker error, uploads skip publishing for a while (per process); the sweeper answers what was not published.
shadow_breaker = Breaker()


def shadow_enqueue(*, prediction_id: int) -> bool:
    """Ask a worker for the challenger's answer to one prediction when shadow mode is on; returns whether it was handed
    to this process's publishing thread.

    The upload never waits on the broker: the thread publishes while the response leaves (``shadow_publish``). While
    publishing is backing off after broker trouble, nothing is handed over: the shadow sweeper finds predictions without
    an answer, as it does those of a process that stopped before publishing.
    """
    if not settings.NUTRILEARN_SHADOW_ENABLED or shadow_breaker.is_open():
        return False
    _publisher().submit(shadow_publish, prediction_id=prediction_id)
    return True


def shadow_publish(*, prediction_id: int) -> bool:
    """Publish one shadow task now; returns whether a message left. Never raises: broker trouble is logged once per
    back-off and swallowed, anything else logged."""
    if shadow_breaker.is_open():
        return False
    try:
        celery_app.send_task(SHADOW_TASK, kwargs={"prediction_id": prediction_id}, retry=False)
    except broker_errors() as exc:
        backoff = settings.NUTRILEARN_ENQUEUE_BACKOFF_SECONDS
        if shadow_breaker.open(seconds=backoff):
            logger.warning("could not enqueue a shadow prediction; not trying again for %g s (the sweeper catches up): %s", backoff, exc)
        return False
    except Exception:  # on the publishing thread nobody else would see it; the sweeper catches up
        logger.exception("could not enqueue the shadow prediction of prediction %s", prediction_id)
        return False
    return True


def shadow_publishing_wait(timeout: float = 30.0) -> None:
    """Return once everything handed to this process's publishing thread so far has been published or refused."""
    _publisher().submit(int).result(timeout=timeout)


@functools.cache
def _publisher() -> ThreadPoolExecutor:
    """This process's publishing thread, one message at a time in order (created on first use, after any fork)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow-publish")
