"""The caching pass of training: photos -> views -> the frozen part of the network, once. Pure PyTorch, no Django.

Where the time went before (cProfile on 512 x 384 JPEGs, 4 views, 2 torch threads beside
other busy processes): four fifths in the frozen trunk, and of that half in batch norm,
ReLU6 and explicit padding rather than in convolutions; OpenMP's two threads stalled each
other whenever another process held a core. So:

- the trunk runs with batch norm folded into the convolutions and symmetric padding moved
  into them (``lite_network.folded_copy``), channels-last, a few photos per batch (the
  activations of small batches stay in the CPU caches);
- decoding, augmentation and the trunk run in ``workers`` processes with one torch thread
  each: they use every core on an idle machine and never wait on each other on a busy one;
- the result goes straight into one preallocated float16 array (``FeatureStore``), in memory
  or, when it would not fit, a memory-mapped file that fine-tuning then streams from disk;
- views are computed view after view (all photos' centre crops, then all photos' first
  augmented views, ...) so that the time budget can stop after any complete view;
- each chunk of photos seeds its own augmentations, so the cache is the same whatever the
  number of workers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import v2

from predictions.inference import IMAGENET_MEAN, IMAGENET_STD
from predictions.lite_network import SplitNetwork

CENTRE, MIRRORED, AUGMENTED = "centre", "mirrored", "augmented"
PHOTOS_PER_CHUNK = 4  # trunk batches of a few photos: faster per photo on a small CPU than batches of 32


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def load_photo(path: Path, draft_size: int) -> Image.Image:
    with Image.open(path) as image:
        if image.format == "JPEG":
            image.draft("RGB", (draft_size, draft_size))  # decode at reduced scale: much faster for large photos
        return image.convert("RGB")


@dataclass(frozen=True)
class ViewRecipe:
    """How the views of a photo are made: the evaluation crop, its mirror image, augmented crops."""

    image_size: int
    resize_size: int

    def transform(self, kind: str) -> v2.Transform:
        """PIL image in, uint8 CHW tensor out (normalised later, a whole batch at once)."""
        if kind == AUGMENTED:
            steps = [
                v2.RandomResizedCrop(self.image_size, scale=(0.25, 1.0), antialias=True),
                v2.RandomHorizontalFlip(),
                v2.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03),
            ]
        else:
            steps = [v2.Resize(self.resize_size, antialias=True), v2.CenterCrop(self.image_size)]
            if kind == MIRRORED:
                steps.append(v2.RandomHorizontalFlip(p=1.0))
        return v2.Compose([*steps, v2.PILToTensor()])


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 N x 3 x H x W -> float, ImageNet mean and std, channels-last."""
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255
    inverse_std = 1 / (torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255)
    return images.to(torch.float32, memory_format=torch.channels_last).sub_(mean).mul_(inverse_std)


class FeatureStore:
    """Cached trunk maps (views x photos x C x H x W, float16) and pooled features (views x photos x 1280, float16).

    Held in memory, or in memory-mapped files in a temporary folder when ``on_disk``; the
    tensors are views of that memory either way. ``close()`` removes the files.
    """

    def __init__(self, views: int, photos: int, map_shape: Sequence[int], pooled_size: int, *, on_disk: bool,
                 folder: Path | None = None):
        self.views, self.photos, self.on_disk = views, photos, on_disk
        self.folder: Path | None = None
        shapes = {"maps": (views, photos, *map_shape), "pooled": (views, photos, pooled_size)}
        if on_disk:
            self.folder = Path(tempfile.mkdtemp(prefix="nutrilearn-cache-", dir=folder))
            arrays = {name: np.lib.format.open_memmap(self.folder / f"{name}.npy", mode="w+", dtype=np.float16, shape=shape)
                      for name, shape in shapes.items()}
            self.maps, self.pooled = (torch.from_numpy(arrays[name]) for name in ("maps", "pooled"))
            self._arrays = arrays
        else:
            self.maps, self.pooled = (torch.empty(shape, dtype=torch.float16) for shape in shapes.values())

    @staticmethod
    def size_bytes(views: int, photos: int, map_shape: Sequence[int], pooled_size: int) -> int:
        return 2 * views * photos * (int(np.prod(map_shape)) + pooled_size)

    def close(self) -> None:
        if self.folder is not None:
            self.maps = self.pooled = None
            self._arrays = None
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def memory_available_bytes() -> int:
    """MemAvailable from /proc/meminfo (what can be used without swapping); a large number where it is unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 40


class _ViewChunks(torch.utils.data.Dataset):
    """Item (view, chunk) -> the trunk's maps and the pooled features of a few photos' view, computed in a worker.

    Items are ordered view-major. Each item seeds torch's generator from (seed, view, chunk) so the
    augmentations do not depend on which process computes it.
    """

    def __init__(self, paths: list[Path], kinds: list[str], recipe: ViewRecipe, parts: SplitNetwork, *, seed: int,
                 with_pooled: bool):
        self.paths, self.kinds, self.recipe, self.parts = paths, kinds, recipe, parts
        self.seed, self.with_pooled = seed, with_pooled
        self.chunks = -(-len(paths) // PHOTOS_PER_CHUNK)

    def __len__(self):
        return self.chunks * len(self.kinds)

    def __getitem__(self, item: int):
        view, chunk = divmod(item, self.chunks)
        torch.manual_seed(self.seed * 1_000_003 + item)
        start = chunk * PHOTOS_PER_CHUNK
        transform = self.recipe.transform(self.kinds[view])
        draft = self.recipe.resize_size
        images = torch.stack([transform(load_photo(path, draft)) for path in self.paths[start : start + PHOTOS_PER_CHUNK]])
        with torch.inference_mode():
            maps = self.parts.trunk(normalise(images))
            pooled = self.parts.tail(maps) if self.with_pooled else None
        return view, start, maps.to(torch.float16), None if pooled is None else pooled.to(torch.float16)


def view_kinds(views: int, *, for_test: bool = False) -> list[str]:
    """Test photos: the centre crop and its mirror image (averaged at test time). Training photos: the centre crop, then augmented views."""
    return [CENTRE, MIRRORED] if for_test else [CENTRE] + [AUGMENTED] * (views - 1)


def cache_views(
    paths: list[Path], kinds: list[str], store: FeatureStore, parts: SplitNetwork, recipe: ViewRecipe, *, seed: int, workers: int,
    with_pooled: bool = True, keep_going: Callable[[int, float], bool] = lambda view, seconds_per_view: True,
    on_progress: Callable[[int], None] = lambda photos: None,
) -> int:
    """Compute views of ``paths`` into ``store`` with ``parts``' trunk (a folded copy is best); returns the views completed.

    Before each view after the first, ``keep_going(view, measured seconds per view so far)`` may stop the
    pass (the time budget). ``workers`` = 0 computes in this process; either way with one torch thread per process.
    """
    dataset = _ViewChunks(paths, kinds, recipe, parts, seed=seed, with_pooled=with_pooled)
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=workers, prefetch_factor=4 if workers else None)
    started = time.perf_counter()
    done_views = 0
    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the workers: the same kernels, so the same numbers whoever computes them
    iterator = iter(loader)
    try:
        for item in range(len(dataset)):
            view, chunk = divmod(item, dataset.chunks)
            if chunk == 0 and view > 0:
                done_views = view
                if not keep_going(view, (time.perf_counter() - started) / view):
                    return done_views
            got_view, start, maps, pooled = next(iterator)
            end = start + len(maps)
            store.maps[got_view, start:end] = maps
            if pooled is not None:
                store.pooled[got_view, start:end] = pooled
            on_progress(len(maps))
    finally:
        del iterator  # stops the worker processes when the budget ends the pass early
        torch.set_num_threads(threads_before)
    return len(kinds)
