"""Fine-tuning EfficientNet-Lite0 on an ImageFolder dataset. Pure PyTorch and torchvision, no Django.

The recipe is built for a 2-core CPU:

1. Everything up to the last ``unfreeze_blocks`` MBConv blocks stays frozen, so its
   output is computed once per image and cached (float16): the test photos with the
   evaluation transform, the training photos as several views (one centre crop, the
   others augmented: random resized crop, flip, colour jitter). The number of views
   shrinks when the time budget would not allow them.
2. A new classification head is trained on the pooled features of the cached views
   (the linear probe; its test accuracy is reported as ``probe_accuracy``).
3. The last blocks, the head convolution and the new head are fine-tuned together
   on the cached maps (random view per epoch, horizontal flips of the maps, label
   smoothing, AdamW, warm-up then cosine decay). Batch-norm statistics stay frozen.
   The number of epochs shrinks when the time budget would not allow them.

The result is a complete state_dict for ``efficientnet-lite0`` with ``num_classes``
outputs plus the metrics of the final model on the test split.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torchvision.transforms import v2
from tqdm import tqdm

from predictions.inference import IMAGENET_MEAN, IMAGENET_STD, Manifest, build_efficientnet_lite0, food_key

from .classification_metrics import ClassificationReport, classification_report

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
TEST_DIR_NAMES = ("test", "val", "valid", "validation")


class DatasetInvalid(ValueError):
    """The folder is not a usable labelled image dataset; the message says why."""


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int


@dataclass(frozen=True)
class DatasetSplit:
    class_names: list[str]
    train: list[Sample]
    test: list[Sample]
    layout: str  # "train/test folders", "food-101 meta files" or "stratified split"

    def counts(self) -> dict[str, int]:
        return {"classes": len(self.class_names), "train_images": len(self.train), "test_images": len(self.test)}


def _images_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS)


def _class_folders(root: Path) -> list[Path]:
    return sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith(".") and _images_in(path))


def _limit(paths: list[Path], limit: int | None) -> list[Path]:
    return paths if limit is None else paths[:limit]


def dataset_scan(
    root: Path, *, test_fraction: float = 0.25, seed: int = 0, max_classes: int | None = None,
    max_train_per_class: int | None = None, max_test_per_class: int | None = None,
) -> DatasetSplit:
    """Find classes and images under ``root`` and split them.

    Layouts, in this order: ``train/<class>/`` with ``test/<class>/`` (or ``val/``);
    the Food-101 archive (``images/<class>/`` with ``meta/train.txt`` and ``meta/test.txt``);
    ``<class>/`` folders (or ``images/<class>/``), split per class with a seeded shuffle.
    Classes are sorted by folder name; ``max_classes`` keeps the first ones.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetInvalid(f"{root} is not a folder")
    test_dir = next((root / name for name in TEST_DIR_NAMES if (root / name).is_dir()), None)
    if (root / "train").is_dir() and test_dir is not None:
        names = [folder.name for folder in _class_folders(root / "train")][:max_classes]
        train = {name: _limit(_images_in(root / "train" / name), max_train_per_class) for name in names}
        test = {name: _limit(_images_in(test_dir / name), max_test_per_class) if (test_dir / name).is_dir() else [] for name in names}
        layout = "train/test folders"
    elif (root / "meta" / "train.txt").is_file() and (root / "meta" / "test.txt").is_file() and (root / "images").is_dir():
        names = [folder.name for folder in _class_folders(root / "images")][:max_classes]

        def listed(split: str, limit: int | None) -> dict[str, list[Path]]:
            found: dict[str, list[Path]] = {name: [] for name in names}
            for line in (root / "meta" / f"{split}.txt").read_text().split():
                name = line.split("/", 1)[0]
                if name in found:
                    found[name].append(root / "images" / f"{line}.jpg")
            return {name: _limit([path for path in paths if path.is_file()], limit) for name, paths in found.items()}

        train, test = listed("train", max_train_per_class), listed("test", max_test_per_class)
        layout = "food-101 meta files"
    else:
        base = root / "images" if (root / "images").is_dir() and not _class_folders(root) else root
        names = [folder.name for folder in _class_folders(base)][:max_classes]
        if not 0 < test_fraction < 1:
            raise DatasetInvalid(f"test fraction must be between 0 and 1, got {test_fraction}")
        train, test = {}, {}
        for name in names:
            paths = _images_in(base / name)
            random.Random(f"{seed}:{name}").shuffle(paths)
            n_test = max(1, round(len(paths) * test_fraction)) if len(paths) >= 2 else 0
            test[name] = _limit(paths[:n_test], max_test_per_class)
            train[name] = _limit(paths[n_test:], max_train_per_class)
        layout = "stratified split"
    if len(names) < 2:
        raise DatasetInvalid(f"{root} needs at least two class folders with images, found {len(names)}")
    empty = [name for name in names if not train[name] or not test[name]]
    if empty:
        raise DatasetInvalid(f"classes without training or test images: {', '.join(empty)}")
    return DatasetSplit(
        class_names=names,
        train=[Sample(path, label) for label, name in enumerate(names) for path in train[name]],
        test=[Sample(path, label) for label, name in enumerate(names) for path in test[name]],
        layout=layout,
    )


@dataclass(frozen=True)
class TrainingConfig:
    """The recipe's knobs. The defaults are the recipe meant for 10 Food-101 classes in 30 minutes on 2 cores."""

    seed: int = 0
    image_size: int = 224
    views: int = 4  # training views per photo: one centre crop + (views - 1) augmented
    unfreeze_blocks: int = 4  # of the 16 MBConv blocks; 0 = linear probe only
    head_epochs: int = 30
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    backbone_lr_factor: float = 0.3  # the unfrozen blocks learn at this fraction of the head's rate
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    dropout: float = 0.2
    time_budget_minutes: float = 30.0
    cache_share: float = 0.7  # of the budget, at most this much goes to computing the cached views
    threads: int | None = None
    workers: int = 0  # image-decoding processes for the caching pass

    @property
    def resize_size(self) -> int:
        return round(self.image_size * 256 / 224)


@dataclass
class TrainingResult:
    class_names: list[str]
    state_dict: dict[str, torch.Tensor]
    manifest: Manifest  # without the weights' sha256 (known once written)
    report: ClassificationReport
    probe_report: ClassificationReport
    history: list[dict] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


BLOCK_COUNT = 16


def _load_image(path: Path, draft_size: int) -> Image.Image:
    with Image.open(path) as image:
        if image.format == "JPEG":
            image.draft("RGB", (draft_size, draft_size))  # decode at reduced scale: much faster for large photos
        return image.convert("RGB")


class _PhotoViews(torch.utils.data.Dataset):
    """Each photo as a stack of views: the evaluation crop first, then augmented crops."""

    def __init__(self, samples: list[Sample], config: TrainingConfig, views: int):
        self.samples = samples
        self.views = views
        self.draft_size = config.resize_size
        normalise = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
        self.plain = v2.Compose([v2.Resize(config.resize_size, antialias=True), v2.CenterCrop(config.image_size), *normalise])
        self.augmented = v2.Compose(
            [
                v2.RandomResizedCrop(config.image_size, scale=(0.25, 1.0), antialias=True),
                v2.RandomHorizontalFlip(),
                v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03),
                *normalise,
            ]
        )

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        image = _load_image(self.samples[index].path, self.draft_size)
        return torch.stack([self.plain(image)] + [self.augmented(image) for _ in range(self.views - 1)])


class _SplitNetwork:
    """EfficientNet-Lite0 cut before block ``cut``: a frozen trunk and a trainable tail."""

    def __init__(self, network: nn.Module, cut: int):
        self.network = network
        self.cut = cut
        self.drop_connect_rate = network._global_params.drop_connect_rate or 0.0

    def trunk(self, images: torch.Tensor) -> torch.Tensor:
        net = self.network
        x = net._swish(net._bn0(net._conv_stem(images)))
        for block in net._blocks[: self.cut]:
            x = block(x)
        return x

    def tail_modules(self) -> list[nn.Module]:
        net = self.network
        return [*net._blocks[self.cut :], net._conv_head, net._bn1]

    def tail(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled 1280-d features from the trunk's output; drop-connect as in the original network when training."""
        net = self.network
        for index in range(self.cut, BLOCK_COUNT):
            rate = self.drop_connect_rate * index / BLOCK_COUNT if net.training else None
            x = net._blocks[index](x, drop_connect_rate=rate)
        x = net._swish(net._bn1(net._conv_head(x)))
        return net._avg_pooling(x).flatten(1)


def _freeze_batch_norm(module: nn.Module) -> None:
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.eval()


def _lr_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return 0.5 * (1 + math.cos(math.pi * progress))


def _batches(count: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    order = torch.randperm(count, generator=generator) if generator is not None else torch.arange(count)
    return list(order.split(batch_size))


def _accuracy_and_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    loss = nn.functional.cross_entropy(logits, labels).item()
    return float((logits.argmax(1) == labels).float().mean()), loss


def train(
    split: DatasetSplit, config: TrainingConfig, *, base_state_dict: dict[str, torch.Tensor],
    progress: bool = True, on_epoch: Callable[[dict], None] | None = None, log: Callable[[str], None] = print,
) -> TrainingResult:
    """Run the recipe on ``split`` starting from ImageNet weights; seeded and reproducible on one machine."""
    started = time.perf_counter()
    budget = config.time_budget_minutes * 60
    if not 0 <= config.unfreeze_blocks <= BLOCK_COUNT:
        raise ValueError(f"unfreeze_blocks must be between 0 and {BLOCK_COUNT}")
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)
    if config.threads:
        torch.set_num_threads(config.threads)
    num_classes = len(split.class_names)
    network = build_efficientnet_lite0(1000)
    network.load_state_dict(base_state_dict, strict=True)
    network.eval()
    parts = _SplitNetwork(network, BLOCK_COUNT - config.unfreeze_blocks)
    train_labels = torch.tensor([sample.label for sample in split.train])
    test_labels = torch.tensor([sample.label for sample in split.test])

    def cache(samples: list[Sample], views: int, description: str) -> torch.Tensor:
        loader = torch.utils.data.DataLoader(
            _PhotoViews(samples, config, views), batch_size=max(1, 32 // views), num_workers=config.workers,
            generator=torch.Generator().manual_seed(config.seed + views),
        )
        chunks = []
        with torch.inference_mode(), tqdm(total=len(samples), desc=description, unit="img", disable=not progress) as bar:
            for batch in loader:
                images = batch.flatten(0, 1).contiguous(memory_format=torch.channels_last)
                maps = parts.trunk(images)
                if config.unfreeze_blocks == 0:
                    maps = parts.tail(maps)
                chunks.append(maps.contiguous().view(len(batch), views, *maps.shape[1:]).to(torch.float16))
                bar.update(len(batch))
        return torch.cat(chunks).transpose(0, 1).contiguous()  # views x photos x ...

    network.to(memory_format=torch.channels_last)
    cache_started = time.perf_counter()
    test_maps = cache(split.test, 1, "caching test photos")[0]
    seconds_per_view = (time.perf_counter() - cache_started) / max(1, len(split.test))
    cache_allowance = config.cache_share * budget - (time.perf_counter() - started)
    views_fit = int(cache_allowance // (seconds_per_view * max(1, len(split.train))))
    views = max(1, min(config.views, views_fit))
    if views < config.views:
        log(f"time budget: {views} training view(s) per photo instead of {config.views}")
    train_maps = cache(split.train, views, f"caching training photos x{views}")
    network.to(memory_format=torch.contiguous_format)
    cache_seconds = time.perf_counter() - cache_started

    # The new head, first as a linear probe on pooled features of the frozen network.
    head = nn.Linear(network._fc.in_features, num_classes)
    dropout = nn.Dropout(config.dropout)
    def pooled(maps: torch.Tensor) -> torch.Tensor:
        """Pooled features of cached maps through the frozen tail, in chunks (the whole set at once would take gigabytes)."""
        if not config.unfreeze_blocks:
            return maps.float()
        with torch.inference_mode():
            return torch.cat([parts.tail(chunk.float()) for chunk in maps.split(256)])

    probe_train = torch.cat([pooled(train_maps[v]) for v in range(views)])
    probe_test = pooled(test_maps)
    probe_labels = train_labels.repeat(views)
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.AdamW(head.parameters(), lr=config.learning_rate * 10, weight_decay=config.weight_decay)
    steps = config.head_epochs * math.ceil(len(probe_labels) / config.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: _lr_factor(step, steps, max(1, steps // 20)))
    for _ in tqdm(range(config.head_epochs), desc="training the head", unit="epoch", disable=not progress):
        for index in _batches(len(probe_labels), config.batch_size, generator):
            logits = head(dropout(probe_train[index]))
            loss = nn.functional.cross_entropy(logits, probe_labels[index], label_smoothing=config.label_smoothing)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    head.eval()
    with torch.inference_mode():
        probe_predictions = head(probe_test).argmax(1)
    probe_report = classification_report(
        [split.class_names[i] for i in test_labels.tolist()], [split.class_names[i] for i in probe_predictions.tolist()], split.class_names
    )
    log(f"linear probe: test accuracy {probe_report.accuracy:.3f}")

    history: list[dict] = []
    planned_epochs = config.epochs if config.unfreeze_blocks else 0
    tail_modules = parts.tail_modules()
    finetune_started = time.perf_counter()
    if planned_epochs:
        backbone_parameters = [p for module in tail_modules for p in module.parameters()]
        optimiser = torch.optim.AdamW(
            [
                {"params": backbone_parameters, "lr": config.learning_rate * config.backbone_lr_factor},
                {"params": head.parameters(), "lr": config.learning_rate},
            ],
            weight_decay=config.weight_decay,
        )
        steps_per_epoch = math.ceil(len(split.train) / config.batch_size)
        plan = {"total": planned_epochs * steps_per_epoch}
        warmup = max(1, steps_per_epoch // 2)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: _lr_factor(step, plan["total"], warmup))
        epoch = 0
        bar = tqdm(total=planned_epochs, desc="fine-tuning", unit="epoch", disable=not progress)
        while epoch < planned_epochs:
            epoch_started = time.perf_counter()
            for module in tail_modules:
                module.train()
            _freeze_batch_norm(network)
            head.train()
            total_loss, correct = 0.0, 0
            view_of = torch.randint(views, (len(split.train),), generator=generator)
            for index in _batches(len(split.train), config.batch_size, generator):
                maps = train_maps[view_of[index], index].float()
                flip = torch.rand(len(index), generator=generator) < 0.5
                maps = torch.where(flip[:, None, None, None], maps.flip(-1), maps)
                logits = head(dropout(parts.tail(maps)))
                loss = nn.functional.cross_entropy(logits, train_labels[index], label_smoothing=config.label_smoothing)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                total_loss += loss.item() * len(index)
                correct += int((logits.argmax(1) == train_labels[index]).sum())
            network.eval()
            head.eval()
            with torch.inference_mode():
                test_accuracy, test_loss = _accuracy_and_loss(head(pooled(test_maps)), test_labels)
            epoch += 1
            row = {
                "epoch": epoch,
                "train_loss": round(total_loss / len(split.train), 6),
                "train_accuracy": round(correct / len(split.train), 6),
                "test_loss": round(test_loss, 6),
                "test_accuracy": round(test_accuracy, 6),
                "learning_rate": schedule.get_last_lr()[-1],
                "seconds": round(time.perf_counter() - epoch_started, 3),
            }
            history.append(row)
            if on_epoch is not None:
                on_epoch(row)
            bar.update(1)
            bar.set_postfix(test_accuracy=f"{test_accuracy:.3f}")
            if epoch == 1 and planned_epochs > 1:
                remaining = budget - (time.perf_counter() - started)
                fit = 1 + int(max(0.0, remaining - row["seconds"]) // row["seconds"])
                if fit < planned_epochs:
                    log(f"time budget: {fit} fine-tuning epochs instead of {planned_epochs}")
                    planned_epochs = fit
                    plan["total"] = planned_epochs * steps_per_epoch
                    bar.total = planned_epochs
        bar.close()

    network.eval()
    head.eval()
    with torch.inference_mode():
        predictions = head(pooled(test_maps)).argmax(1)
    report = classification_report(
        [split.class_names[i] for i in test_labels.tolist()], [split.class_names[i] for i in predictions.tolist()], split.class_names
    )
    state_dict = {key: value for key, value in network.state_dict().items() if not key.startswith("_fc.")}
    state_dict["_fc.weight"] = head.weight.detach().clone()
    state_dict["_fc.bias"] = head.bias.detach().clone()
    build_efficientnet_lite0(num_classes).load_state_dict(state_dict, strict=True)  # the artefact must rebuild as-is
    manifest = Manifest(
        architecture="efficientnet-lite0",
        class_names=list(split.class_names),
        food_indices=list(range(num_classes)),
        tableware_indices=[],
        input_size=config.image_size,
        resize_size=config.resize_size,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    )
    total_seconds = time.perf_counter() - started
    photos_processed = len(split.train) + len(split.test)
    return TrainingResult(
        class_names=list(split.class_names),
        state_dict=state_dict,
        manifest=manifest,
        report=report,
        probe_report=probe_report,
        history=history,
        params={**asdict(config), "views_used": views, "epochs_run": len(history), "layout": split.layout, **split.counts()},
        timings={
            "cache_seconds": round(cache_seconds, 3),
            "finetune_seconds": round(time.perf_counter() - finetune_started, 3),
            "total_seconds": round(total_seconds, 3),
            "seconds_per_1000_images": round(1000 * total_seconds / photos_processed, 3),
        },
    )


def class_keys(class_names: list[str]) -> list[str]:
    """Catalogue keys of a dataset's class folder names."""
    return [food_key(name) for name in class_names]


def evaluation_samples(root: Path) -> list[tuple[Path, str]]:
    """The labelled photos of a folder for evaluating a model: its test split if it has one, else every photo.

    Each item is (path, class folder name).
    """
    root = Path(root)
    test_dir = next((root / name for name in TEST_DIR_NAMES if (root / name).is_dir()), None)
    if test_dir is None and (root / "meta" / "test.txt").is_file() and (root / "images").is_dir():
        lines = (root / "meta" / "test.txt").read_text().split()
        found = [(root / "images" / f"{line}.jpg", line.split("/", 1)[0]) for line in lines]
        return [(path, name) for path, name in found if path.is_file()]
    base = test_dir or (root / "images" if (root / "images").is_dir() and not _class_folders(root) else root)
    if not base.is_dir():
        raise DatasetInvalid(f"{root} is not a folder")
    samples = [(path, folder.name) for folder in _class_folders(base) for path in _images_in(folder)]
    if not samples:
        raise DatasetInvalid(f"no labelled photos under {base} (expected <class>/<photo> folders)")
    return samples
