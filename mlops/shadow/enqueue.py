"""Publishing a shadow prediction after an upload commits: never raises, never waits on a broker that is down.

Kept apart from ``services`` (which loads the challenger) so the upload path imports nothing heavy.
"""

from __future__ import annotations

import logging

from django.conf import settings

from nutrilearn.breaker import Breaker
from nutrilearn.celery import app as celery_app

from ..mirror import broker_errors

logger = logging.getLogger(__name__)

SHADOW_TASK = "mlops.shadow.tasks.shadow_predict"

# After a broker error, uploads skip publishing for a while (per process); the sweeper answers what was not published.
shadow_breaker = Breaker()


def shadow_enqueue(*, prediction_id: int) -> bool:
    """Ask a worker for the challenger's answer to one prediction when shadow mode is on; returns whether a message left.

    Broker trouble is logged once per back-off and swallowed: the shadow sweeper finds predictions without an answer.
    """
    if not settings.NUTRILEARN_SHADOW_ENABLED or shadow_breaker.is_open():
        return False
    try:
        celery_app.send_task(SHADOW_TASK, kwargs={"prediction_id": prediction_id}, retry=False)
    except broker_errors() as exc:
        backoff = settings.NUTRILEARN_ENQUEUE_BACKOFF_SECONDS
        if shadow_breaker.open(seconds=backoff):
            logger.warning("could not enqueue a shadow prediction; not trying again for %g s (the sweeper catches up): %s", backoff, exc)
        return False
    return True
