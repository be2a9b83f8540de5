"""Which model answers an upload while an A/B test runs, and the challenger kept loaded beside the champion.

The champion is the process's usual model (``predictions.serving.holder``, following the alias). The
challenger is loaded lazily on its first request, once per process, and smoke-tested like the champion;
it is released when no experiment runs. When it cannot be loaded (registry down, a refused artefact,
a failed smoke test) the champion answers and the row's arm says so (``fallback``), and the load is not
retried before NUTRILEARN_MODEL_POLL_SECONDS have passed, so one broken version does not slow every request.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError

from predictions.inference import ModelUnavailable
from predictions.serving import ServedModel, get_served_model, load_registry_model

from ..mlflow_store import MlflowRejected, MlflowUnavailable
from ..mlflow_store.registry import version_get
from ..models import ModelEvent
from .assignment import CHALLENGER, CHALLENGER_UNAVAILABLE, arm_for, stable_id
from .selectors import experiment_running

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Enrolment:
    """The running experiment a request belongs to and its assigned arm; both empty outside any experiment.

    ``challenger_version`` is set whenever an experiment runs, even for a request with no stable id to assign.
    """

    experiment_id: int | None = None
    arm: str = ""
    challenger_version: str = ""


NOT_ENROLLED = Enrolment()


def enrolment_for(*, user, session_key: str) -> Enrolment:
    """The arm of this user (or anonymous session) in the running experiment; NOT_ENROLLED without one or without a stable id."""
    experiment = experiment_running()
    if experiment is None:
        return NOT_ENROLLED
    user_id = user.pk if user is not None and user.is_authenticated else None
    unit = stable_id(user_id=user_id, session_key=session_key or "")
    if not unit:
        return Enrolment(challenger_version=experiment.challenger_version)
    arm = arm_for(experiment_id=experiment.pk, unit=unit, challenger_share=experiment.challenger_share)
    return Enrolment(experiment_id=experiment.pk, arm=arm, challenger_version=experiment.challenger_version)


class ChallengerSlot:
    """The challenger version of this process: loaded on first use, smoke-tested, released when the experiment ends."""

    def __init__(self):
        self._lock = threading.Lock()
        self._model: ServedModel | None = None
        self._failed: tuple[str, float] | None = None  # (version, monotonic time of the failed load)
        self.last_error: str | None = None

    def get(self, version: str) -> ServedModel | None:
        """The loaded challenger ``version``, or None when it cannot be loaded (the reason in ``last_error``)."""
        model = self._model
        if model is not None and model.version == version:
            return model
        with self._lock:
            if self._model is not None and self._model.version == version:
                return self._model
            if self._failed is not None and self._failed[0] == version:
                if time.monotonic() - self._failed[1] < settings.NUTRILEARN_MODEL_POLL_SECONDS:
                    return None
            self._model = None  # a previous experiment's challenger goes before the next one loads
            try:
                model = load_registry_model(version_get(version))
                model.classifier.smoke_test()  # also warms up the kernels
            except (MlflowUnavailable, MlflowRejected, ModelUnavailable) as exc:
                self._failed = (version, time.monotonic())
                self.last_error = f"challenger version {version} not served: {exc}"
                logger.error("%s; the champion answers its arm", self.last_error)
                _record_event(ModelEvent.Kind.REFUSED, version, f"{exc} (the champion answers the challenger's arm)")
                return None
            self._model, self._failed, self.last_error = model, None, None
        logger.info("challenger version %s loaded (sha256 %s…)", model.version, model.sha256[:12])
        _record_event(ModelEvent.Kind.LOADED, model.version, f"challenger version {model.version} loaded for an A/B test")
        return model

    def loaded(self) -> ServedModel | None:
        return self._model

    def release(self) -> None:
        if self._model is None and self._failed is None:
            return
        with self._lock:
            self._model, self._failed, self.last_error = None, None, None


def _record_event(kind: str, version: str, message: str) -> None:
    """A ModelEvent row for the challenger; a database hiccup must not fail the upload, so it is logged instead."""
    try:
        ModelEvent.objects.record(kind=kind, model_version=version, alias=CHALLENGER, message=message)
    except DatabaseError as exc:
        logger.error("could not record model event %s for challenger version %s: %s", kind, version, exc)


challenger = ChallengerSlot()


def model_for(*, enrolment: Enrolment) -> tuple[ServedModel, str]:
    """The model that answers this request and the arm to record (``fallback`` when the challenger could not be loaded).

    The champion is loaded first in every case: it is the fallback, and it sets the process's inference threads.
    Raises ModelUnavailable when not even the champion can serve.
    """
    champion = get_served_model()
    if not enrolment.challenger_version:
        challenger.release()  # no experiment runs: the challenger's memory goes back
    if enrolment.experiment_id is None:
        return champion, ""
    if enrolment.arm != CHALLENGER:
        return champion, enrolment.arm
    model = challenger.get(enrolment.challenger_version)
    if model is None:
        return champion, CHALLENGER_UNAVAILABLE
    return model, CHALLENGER
