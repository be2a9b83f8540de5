"""Labelled photo folders (ImageFolder and Food-101 layouts): finding classes and photos, splitting them. No Django."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

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
