"""Fine-tuning EfficientNet-Lite0 on an ImageFolder dataset. Pure PyTorch and torchvision, no Django.

The recipe is built for a 2-core CPU that other processes may be using too:

1. Everything up to the last ``unfreeze_blocks`` MBConv blocks stays frozen, so its
   output is computed once per photo view and cached as float16 (``feature_cache``): the
   test photos as their centre crop and its mirror image, the training photos as several
   views (one centre crop, the others augmented: random resized crop, flip, colour
   jitter). Views stop early when the time budget would not allow them.
2. A new classification head is trained on the pooled features of the cached views
   (the linear probe; its test accuracy is reported as ``probe_accuracy``).
3. The last blocks, the head convolution and the new head are fine-tuned together
   on the cached maps (random view per epoch, horizontal flips of the maps, label
   smoothing, AdamW, warm-up then cosine decay), with batch norm frozen and folded into
   the convolutions (``lite_network``) and a moving average of the weights, which is the
   result. Epochs are planned again after each one from the measured speed.
4. Test accuracy averages each photo with its mirror image, as ``evaluate`` does.
5. The temperature that calibrates the result's confidence is fitted on the test split's
   centre-crop logits (``temperature``) and stored in the manifest, so serving applies it.

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
from torch import nn
from tqdm import tqdm

from predictions.inference import IMAGENET_MEAN, IMAGENET_STD, Manifest, build_efficientnet_lite0, food_key
from predictions.lite_network import BLOCK_COUNT, SplitNetwork, folded_copy, unfold_into

from .classification_metrics import ClassificationReport, classification_report
from .datasets import DatasetSplit
from .feature_cache import PHOTOS_PER_CHUNK, FeatureStore, ViewRecipe, cache_views, memory_available_bytes, usable_cores, view_kinds
from .temperature import TemperatureFit, TooFewSamples, temperature_calibrate


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
    ema_decay: float = 0.99  # exponential moving average of the fine-tuned weights; 0 = off
    tta: bool = True  # test photos: the centre crop and its mirror image, probabilities averaged
    time_budget_minutes: float = 30.0
    cache_share: float = 0.7  # of the budget, at most this much goes to computing the cached views
    threads: int | None = None  # fine-tuning's torch threads; None = measured each epoch (1 or all cores)
    workers: int | None = None  # processes of the caching pass; None = one per core, 0 = in this process
    cache_memory_gb: float | None = None  # cache in memory up to this size, else on disk; None = half the available memory
    cache_dir: str | None = None  # where an on-disk cache goes (default: the system's temporary folder)

    def __post_init__(self):
        """Nonsense values are refused here, with a message, before anything starts."""
        if not 0 <= self.unfreeze_blocks <= BLOCK_COUNT:
            raise ValueError(f"unfreeze_blocks must be between 0 and {BLOCK_COUNT}")
        if self.views < 1 or self.epochs < 0 or self.image_size < 32:
            raise ValueError("views must be at least 1, epochs at least 0 and the image size at least 32 pixels")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"the weight average's decay must be at least 0 and below 1, got {self.ema_decay}")
        if (self.workers is not None and self.workers < 0) or (self.threads is not None and self.threads < 1):
            raise ValueError("workers must be 0 or more and threads 1 or more")
        if self.cache_memory_gb is not None and self.cache_memory_gb < 0:
            raise ValueError("the cache's memory limit cannot be negative")

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
    calibration: TemperatureFit | None = None  # the temperature fitted on the test split; None with too few test photos
    history: list[dict] = field(default_factory=list)
    ablations: dict = field(default_factory=dict)  # test accuracy without TTA, without the weight average
    params: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def _lr_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return 0.5 * (1 + math.cos(math.pi * progress))


def _batches(count: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    order = torch.randperm(count, generator=generator) if generator is not None else torch.arange(count)
    return list(order.split(batch_size))


class TimeBudget:
    """How much of the run still fits, from speeds measured as it goes.

    Work starts only when the measured speed says it fits, and the plan is redone after every
    view and every epoch with the slowest epoch so far, so a machine that gets busier mid-run
    overruns by at most the view or epoch under way (one view and one epoch are always done).
    """

    def __init__(self, seconds: float, *, cache_share: float, clock: Callable[[], float] = time.perf_counter):
        self.seconds, self.cache_share, self.clock = seconds, cache_share, clock
        self.started = clock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def view_fits(self, seconds_per_view: float) -> bool:
        """Another view of every training photo fits in the caching pass's share of the budget."""
        return seconds_per_view <= self.cache_share * self.seconds - self.elapsed()

    def epochs_that_fit(self, *, done: int, planned: int, slowest_epoch: float) -> int:
        """Epochs to run in all, at most ``planned``, at least ``done``."""
        remaining = max(0.0, self.seconds - self.elapsed())
        return max(done, min(planned, done + int(remaining // max(slowest_epoch, 1e-9))))


class _ThreadCount:
    """Torch's thread count for fine-tuning, chosen by timing a few steps each epoch.

    All cores win on an idle machine; one thread wins, by a factor of two or more, when other
    processes (a web server, a Celery worker) want the cores too, because OpenMP's threads then
    wait on each other at every operation.
    """

    TRIAL_STEPS = 2

    def __init__(self, fixed: int | None):
        self.fixed = fixed
        self.candidates = [fixed] if fixed else sorted({1, usable_cores()})
        self.chosen = self.candidates[-1]
        self.timings: dict[int, list[float]] = {}
        self.use(self.chosen)

    @staticmethod
    def use(threads: int) -> None:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)

    def for_step(self, step_in_epoch: int) -> None:
        """Steps 1.. of an epoch try each candidate in turn (step 0 warms up); the rest use the faster one."""
        if len(self.candidates) == 1:
            return
        trial = step_in_epoch - 1
        if step_in_epoch == 0:
            self.timings = {}
        elif 0 <= trial < self.TRIAL_STEPS * len(self.candidates):
            self.use(self.candidates[trial // self.TRIAL_STEPS])
        elif trial == self.TRIAL_STEPS * len(self.candidates) and self.timings:
            self.chosen = min(self.timings, key=lambda threads: min(self.timings[threads]))
            self.use(self.chosen)

    def record(self, seconds: float) -> None:
        self.timings.setdefault(torch.get_num_threads(), []).append(seconds)


class _Average:
    """Exponential moving average of parameters, with the usual warm-up (short runs are not dominated by the start)."""

    def __init__(self, parameters: list[nn.Parameter], decay: float):
        self.parameters = parameters
        self.decay = decay
        self.shadow = [p.detach().clone() for p in parameters]
        self.updates = 0

    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        with torch.no_grad():
            torch._foreach_lerp_(self.shadow, [p.detach() for p in self.parameters], 1 - decay)

    def swap(self) -> None:
        """Exchange the live weights and the averaged ones (call twice to undo)."""
        with torch.no_grad():
            for live, shadow in zip(self.parameters, self.shadow, strict=True):
                held = live.detach().clone()
                live.copy_(shadow)
                shadow.copy_(held)


def _report(split: DatasetSplit, labels: torch.Tensor, predictions: torch.Tensor) -> ClassificationReport:
    names = split.class_names
    return classification_report([names[i] for i in labels.tolist()], [names[i] for i in predictions.tolist()], names)


def _accuracy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    return round(float((scores.argmax(1) == labels).float().mean()), 6)


def _finish_time(seconds_from_now: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(time.time() + max(0.0, seconds_from_now)))


def train(
    split: DatasetSplit, config: TrainingConfig, *, base_state_dict: dict[str, torch.Tensor],
    progress: bool = True, on_epoch: Callable[[dict], None] | None = None, log: Callable[[str], None] = print,
) -> TrainingResult:
    """Run the recipe on ``split`` starting from ImageNet weights; seeded and reproducible on one machine."""
    threads_before = torch.get_num_threads()
    stores: list[FeatureStore] = []
    try:
        return _train(split, config, base_state_dict=base_state_dict, progress=progress, on_epoch=on_epoch, log=log, stores=stores)
    finally:
        for store in stores:
            store.close()
        torch.set_num_threads(threads_before)


def _train(split, config, *, base_state_dict, progress, on_epoch, log, stores) -> TrainingResult:
    started = time.perf_counter()
    budget = TimeBudget(config.time_budget_minutes * 60, cache_share=config.cache_share)
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)
    threads = _ThreadCount(config.threads)
    num_classes = len(split.class_names)
    network = build_efficientnet_lite0(1000)
    network.load_state_dict(base_state_dict, strict=True)
    network.eval()
    cut = BLOCK_COUNT - config.unfreeze_blocks
    # One folded copy does everything: the trunk for the cache, the tail for the probe's features and for
    # fine-tuning; its weights are written back into ``network`` at the end.
    parts = SplitNetwork(folded_copy(network), cut)
    train_labels = torch.tensor([sample.label for sample in split.train])
    test_labels = torch.tensor([sample.label for sample in split.test])
    recipe = ViewRecipe(config.image_size, config.resize_size)
    workers = usable_cores() if config.workers is None else config.workers

    with torch.inference_mode():
        map_shape = tuple(parts.trunk(torch.zeros(1, 3, config.image_size, config.image_size)).shape[1:])
    pooled_size = network._fc.in_features
    test_kinds = view_kinds(1, for_test=True) if config.tta else view_kinds(1)
    wanted = (len(test_kinds), len(split.test)), (config.views, len(split.train))
    needed = sum(FeatureStore.size_bytes(v, n, map_shape, pooled_size) for v, n in wanted)
    allowed = memory_available_bytes() / 2 if config.cache_memory_gb is None else config.cache_memory_gb * 2**30
    on_disk = needed > allowed
    if on_disk:
        log(f"feature cache: {needed / 2**30:.1f} GiB does not fit in {allowed / 2**30:.1f} GiB of memory, streaming it from disk")
    cache_dir = Path(config.cache_dir) if config.cache_dir else None
    test_store = FeatureStore(*wanted[0], map_shape, pooled_size, on_disk=on_disk, folder=cache_dir)
    stores.append(test_store)
    train_store = FeatureStore(*wanted[1], map_shape, pooled_size, on_disk=on_disk, folder=cache_dir)
    stores.append(train_store)

    # Time per photo view, measured on the test photos first; the fine-tuning epoch is guessed at one view's
    # worth until the first epoch has been timed.
    cache_started = time.perf_counter()
    estimate = {"view": None, "epoch": None}

    def run_remaining(views_left: int, epochs_left: int, seconds_per_view: float | None = None) -> float:
        view = estimate["view"] or seconds_per_view or 0.0
        epoch = estimate["epoch"] or view * len(split.train)
        return views_left * view * len(split.train) + epochs_left * epoch

    def caching(paths, kinds, store, description, keep_going, views_left_after):
        with tqdm(total=len(paths) * len(kinds), desc=description, unit="view", disable=not progress) as bar:
            def on_progress(count):
                bar.update(count)
                if bar.n % (8 * PHOTOS_PER_CHUNK) < count:
                    per_view = bar.format_dict["elapsed"] / max(1, bar.n)
                    seconds = (bar.total - bar.n) * per_view + run_remaining(views_left_after, config.epochs, per_view)
                    bar.set_postfix(finish=_finish_time(seconds))
            return cache_views(
                [sample.path for sample in paths], kinds, store, parts, recipe, seed=config.seed + len(kinds) * 7919,
                workers=workers, keep_going=keep_going, on_progress=on_progress,
            )

    caching(split.test, test_kinds, test_store, "caching test photos", lambda view, seconds: True, config.views)
    estimate["view"] = (time.perf_counter() - cache_started) / max(1, len(split.test) * len(test_kinds))

    def more_views(view: int, seconds_per_view: float) -> bool:
        estimate["view"] = seconds_per_view / max(1, len(split.train))
        return budget.view_fits(seconds_per_view)

    views = caching(split.train, view_kinds(config.views), train_store, f"caching training photos x{config.views}", more_views, 0)
    if views < config.views:
        log(f"time budget: {views} training view(s) per photo instead of {config.views}")
    train_maps, train_pooled = train_store.maps[:views], train_store.pooled[:views]
    test_maps, test_pooled = test_store.maps, test_store.pooled
    cache_seconds = time.perf_counter() - cache_started

    # The new head, first as a linear probe on pooled features of the frozen network. Seeded again: how
    # much of torch's generator the caching pass used depends on whether it ran here or in workers.
    torch.manual_seed(config.seed)
    head = nn.Linear(pooled_size, num_classes)
    dropout = nn.Dropout(config.dropout)
    probe_train = train_pooled.flatten(0, 1).float()
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
    del probe_train
    head.eval()

    def test_probabilities(pooled_of_view: Callable[[int], torch.Tensor], views: int = len(test_kinds)) -> torch.Tensor:
        """Class probabilities of the test photos, averaged over their cached views (centre, mirror)."""
        with torch.inference_mode():
            return torch.stack([head(pooled_of_view(v)).softmax(1) for v in range(views)]).mean(0)

    probe_report = _report(split, test_labels, test_probabilities(lambda v: test_pooled[v].float()).argmax(1))
    log(f"linear probe: test accuracy {probe_report.accuracy:.3f}")

    def tail_pooled(maps: torch.Tensor) -> torch.Tensor:
        """Pooled features of cached maps through the current tail, in chunks (the whole set at once would take gigabytes)."""
        with torch.inference_mode():
            return torch.cat([parts.tail(chunk.float().contiguous(memory_format=torch.channels_last)) for chunk in maps.split(128)])

    history: list[dict] = []
    planned_epochs = config.epochs if config.unfreeze_blocks else 0
    tail_modules = parts.tail_modules()
    trainable = [p for module in tail_modules for p in module.parameters()]
    for parameter in trainable:
        parameter.requires_grad_(True)
    average = None
    finetune_started = time.perf_counter()
    if planned_epochs:
        optimiser = torch.optim.AdamW(
            [
                {"params": trainable, "lr": config.learning_rate * config.backbone_lr_factor},
                {"params": head.parameters(), "lr": config.learning_rate},
            ],
            weight_decay=config.weight_decay,
        )
        if config.ema_decay:
            average = _Average([*trainable, *head.parameters()], config.ema_decay)
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
            head.train()
            total_loss, correct = 0.0, 0
            view_of = torch.randint(views, (len(split.train),), generator=generator)
            for step, index in enumerate(_batches(len(split.train), config.batch_size, generator)):
                threads.for_step(step)
                step_started = time.perf_counter()
                maps = train_maps[view_of[index], index].float()
                flip = torch.rand(len(index), generator=generator) < 0.5
                maps = torch.where(flip[:, None, None, None], maps.flip(-1), maps).contiguous(memory_format=torch.channels_last)
                logits = head(dropout(parts.tail(maps)))
                loss = nn.functional.cross_entropy(logits, train_labels[index], label_smoothing=config.label_smoothing)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                if average is not None:
                    average.update()
                threads.record(time.perf_counter() - step_started)
                total_loss += loss.item() * len(index)
                correct += int((logits.argmax(1) == train_labels[index]).sum())
            for module in tail_modules:
                module.eval()
            head.eval()
            if average is not None:
                average.swap()
            with torch.inference_mode():
                logits = head(tail_pooled(test_maps[0]))
                test_loss = nn.functional.cross_entropy(logits, test_labels).item()
                test_accuracy = float((logits.argmax(1) == test_labels).float().mean())
            if average is not None:
                average.swap()
            epoch += 1
            row = {
                "epoch": epoch,
                "train_loss": round(total_loss / len(split.train), 6),
                "train_accuracy": round(correct / len(split.train), 6),
                "test_loss": round(test_loss, 6),
                "test_accuracy": round(test_accuracy, 6),
                "learning_rate": schedule.get_last_lr()[-1],
                "seconds": round(time.perf_counter() - epoch_started, 3),
                "threads": threads.chosen,
            }
            history.append(row)
            if on_epoch is not None:
                on_epoch(row)
            estimate["epoch"] = max(r["seconds"] for r in history)
            fit = budget.epochs_that_fit(done=epoch, planned=planned_epochs, slowest_epoch=estimate["epoch"])
            if fit < planned_epochs:
                log(f"time budget: {fit} fine-tuning epochs instead of {config.epochs}")
                planned_epochs = fit
                plan["total"] = planned_epochs * steps_per_epoch
                bar.total = planned_epochs
            bar.update(1)
            bar.set_postfix(test_accuracy=f"{test_accuracy:.3f}", finish=_finish_time(run_remaining(0, planned_epochs - epoch)))
        bar.close()

    for module in tail_modules:
        module.eval()
    head.eval()
    # What TTA and the average each add, measured on the centre crops of the same run.
    ablations = {}
    if average is not None:
        with torch.inference_mode():
            ablations["accuracy_centre_without_average"] = _accuracy(head(tail_pooled(test_maps[0])), test_labels)
        average.swap()  # the averaged weights are the result
    pooled_of_view = (lambda v: tail_pooled(test_maps[v])) if planned_epochs else (lambda v: test_pooled[v].float())
    per_view = [test_probabilities(lambda _, v=v: pooled_of_view(v), views=1) for v in range(len(test_kinds))]
    ablations["accuracy_centre"] = _accuracy(per_view[0], test_labels)
    report = _report(split, test_labels, torch.stack(per_view).mean(0).argmax(1))
    # The served model sees one centre crop per photo: its temperature is fitted on the centre crops' logits.
    with torch.inference_mode():
        test_logits = head(pooled_of_view(0))
    try:
        calibration = temperature_calibrate(test_logits, test_labels, seed=config.seed)
    except TooFewSamples as exc:
        calibration = None
        log(f"temperature left at 1.0: {exc}")
    unfold_into(network, parts.network)
    state_dict = {key: value.contiguous() for key, value in network.state_dict().items() if not key.startswith("_fc.")}
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
        temperature=calibration.temperature if calibration else 1.0,
    )
    total_seconds = time.perf_counter() - started
    photos_processed = len(split.train) + len(split.test)
    return TrainingResult(
        class_names=list(split.class_names),
        state_dict=state_dict,
        manifest=manifest,
        report=report,
        probe_report=probe_report,
        calibration=calibration,
        history=history,
        ablations=ablations,
        params={**asdict(config), "views_used": views, "epochs_run": len(history), "layout": split.layout,
                "workers_used": workers, "cache_on_disk": on_disk, **split.counts()},
        timings={
            "cache_seconds": round(cache_seconds, 3),
            "cache_photos_per_second": round(photos_processed / cache_seconds, 3),
            "finetune_seconds": round(time.perf_counter() - finetune_started, 3),
            "seconds_per_epoch": round(float(np.mean([r["seconds"] for r in history])), 3) if history else 0.0,
            "total_seconds": round(total_seconds, 3),
            "seconds_per_1000_images": round(1000 * total_seconds / photos_processed, 3),
        },
    )


def class_keys(class_names: list[str]) -> list[str]:
    """Catalogue keys of a dataset's class folder names."""
    return [food_key(name) for name in class_names]
