"""How many drift reports one user may have computed on demand (GET /api/v1/mlops/monitoring/drift).

A GET answered by a stored report costs a lookup and is not counted; one that computes a new
report reads both windows and stores a row, so each user gets ``NUTRILEARN_DRIFT_COMPUTE_RATE``
of those. The counts live in the shared cache, like the upload throttle's.
"""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.throttling import SimpleRateThrottle

from predictions.throttling import CACHE_UNREACHABLE, cache_breaker

logger = logging.getLogger(__name__)


class DriftComputeThrottle(SimpleRateThrottle):
    """At most ``NUTRILEARN_DRIFT_COMPUTE_RATE`` new drift reports per user (per IP address without one).

    Checked only when a request would compute a report. An unreachable cache lets the
    computation through, like the upload throttle: an outage of Redis must not close the drift endpoint.
    """

    scope = "drift_compute"

    def get_rate(self) -> str:
        return settings.NUTRILEARN_DRIFT_COMPUTE_RATE

    def get_cache_key(self, request, view) -> str:
        user = getattr(request, "user", None)
        ident = f"user-{user.pk}" if user is not None and user.is_authenticated else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        if cache_breaker.is_open():
            return True
        try:
            return super().allow_request(request, view)
        except CACHE_UNREACHABLE as exc:
            seconds = settings.NUTRILEARN_CACHE_BACKOFF_SECONDS
            if cache_breaker.open(seconds=seconds):
                logger.warning("drift compute throttling skipped for %g s: the cache is unreachable (%s)", seconds, exc)
            return True


def drift_compute_allow(*, request, view=None) -> None:
    """Count one on-demand drift computation for the caller; raises Throttled (429 with Retry-After) past the rate."""
    throttle = DriftComputeThrottle()
    if throttle.allow_request(request, view):
        return
    wait = throttle.wait()
    raise Throttled(
        wait=wait,
        detail=(
            f"You have asked for more new drift reports than NUTRILEARN_DRIFT_COMPUTE_RATE allows ({throttle.rate}). "
            "Reports already stored (the scheduled ones, and those computed for the same windows within the hour) "
            "are still answered; try other windows again later."
        ),
    )
