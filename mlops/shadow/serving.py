"""The challenger, as a worker serves it: the registry version behind alias ``challenger``, loaded once per process."""

from __future__ import annotations

from django.conf import settings

from predictions.inference import ModelUnavailable
from predictions.serving import ModelHolder, ServedModel

from ..mlflow_store import MlflowRejected, MlflowUnavailable
from ..mlflow_store.registry import CHALLENGER, alias_resolve


class ChallengerUnavailable(Exception):
    """No challenger to ask: none is registered, the registry is unreachable, or it failed to load."""


challenger_holder = ModelHolder(alias=CHALLENGER)


def challenger_get() -> ServedModel:
    """The challenger this worker serves (following the alias like the champion's holder); raises ChallengerUnavailable.

    The holder's fallback to the bundled weights is not a challenger: it counts as unavailable.
    """
    if settings.NUTRILEARN_MODEL_SOURCE != "registry":
        raise ChallengerUnavailable("models come from the bundled weights only (NUTRILEARN_MODEL_SOURCE), so there is no challenger")
    try:
        # A cheap look first: without a challenger the holder would load the bundled weights only to be told so.
        alias_resolve(CHALLENGER)
    except (MlflowUnavailable, MlflowRejected) as exc:
        raise ChallengerUnavailable(f"no challenger: {exc}") from exc
    try:
        model = challenger_holder.get()
    except ModelUnavailable as exc:
        raise ChallengerUnavailable(str(exc)) from exc
    if challenger_holder.fallback_reason:
        # Forget the fallback, so the next call asks the registry again instead of comparing the bundled weights.
        reason = challenger_holder.fallback_reason
        challenger_holder.reset()
        raise ChallengerUnavailable(reason)
    return model
