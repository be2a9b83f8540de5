"""Upload throttling: how many photos one client may send, on the JSON API and the upload form alike."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from nutrilearn.breaker import Breaker

logger = logging.getLogger(__name__)

# What a shared cache that cannot be reached raises (Redis down or not answering).
CACHE_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
cache_breaker = Breaker()


class SharedCacheRateThrottle(SimpleRateThrottle):
    """A rate per logged-in account, or per IP address for anonymous clients, counted in the shared cache.

    ``rate_setting`` names the setting holding the rate (read on each request). When the cache cannot be
    reached the request goes through (and a warning is logged), and this process stops asking the cache for
    ``NUTRILEARN_CACHE_BACKOFF_SECONDS``: an outage of Redis never fails or slows what is throttled.
    """

    rate_setting = ""
    what = "requests"

    def get_rate(self) -> str:
        return getattr(settings, self.rate_setting)

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
                logger.warning("%s throttling skipped for %g s: the cache is unreachable (%s)", self.what, seconds, exc)
            return True


class PredictRateThrottle(SharedCacheRateThrottle):
    """At most ``NUTRILEARN_PREDICT_RATE`` uploads per logged-in account, or per IP address for anonymous clients."""

    scope = "predict"
    rate_setting = "NUTRILEARN_PREDICT_RATE"
    what = "upload"
