"""How many drift reports one user may have computed on demand (GET /api/v1/mlops/monitoring/drift).

A GET answered by a stored report costs a lookup and is not counted; one that computes a new
report reads both windows and stores a row, so each user gets ``NUTRILEARN_DRIFT_COMPUTE_RATE``
of those. The counts live in the shared cache, like the upload throttle's.
"""

from __future__ import annotations

from rest_framework.exceptions import Throttled

from predictions.throttling import SharedCacheRateThrottle


class DriftComputeThrottle(SharedCacheRateThrottle):
    """At most ``NUTRILEARN_DRIFT_COMPUTE_RATE`` new drift reports per user (per IP address without one).

    Checked only when a request would compute a report. An unreachable cache lets the
    computation through, like the upload throttle: an outage of Redis must not close the drift endpoint.
    """

    scope = "drift_compute"
    rate_setting = "NUTRILEARN_DRIFT_COMPUTE_RATE"
    what = "drift compute"


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
