"""Sticky assignment of a user or anonymous session to an arm (no Django).

The arm is a pure function of the experiment id and a stable id: blake2b of both, read as a number
in [0, 1), below the challenger's share goes to the challenger. The same person gets the same arm on
every request and in every process, and a new experiment reshuffles everyone (its id is in the hash),
unlike ``user_id % 2``, which puts the same users in the same arm of every test and cannot do 10 %.
"""

from __future__ import annotations

import hashlib

CHAMPION = "champion"
CHALLENGER = "challenger"
# Assigned to the challenger but answered by the champion, because the challenger could not be loaded:
# kept apart so that neither arm's figures mix the two models.
CHALLENGER_UNAVAILABLE = "fallback"
ARMS = (CHAMPION, CHALLENGER, CHALLENGER_UNAVAILABLE)

_SCALE = float(2**64)


def stable_id(*, user_id: int | None, session_key: str) -> str:
    """The id assignment hashes: the user when signed in, else the session; "" when there is neither."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"session:{session_key}" if session_key else ""


def unit_interval(*, experiment_id: int, unit: str) -> float:
    """A uniform number in [0, 1) from the experiment id and the stable id (64 bits of blake2b)."""
    digest = hashlib.blake2b(f"{experiment_id}:{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def arm_for(*, experiment_id: int, unit: str, challenger_share: float) -> str:
    """CHALLENGER for a ``challenger_share`` of the stable ids, CHAMPION for the rest."""
    if not 0 < challenger_share < 1:
        raise ValueError(f"the challenger's share is strictly between 0 and 1, got {challenger_share!r}")
    return CHALLENGER if unit_interval(experiment_id=experiment_id, unit=unit) < challenger_share else CHAMPION
