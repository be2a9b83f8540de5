"""The folder a retraining trains on: the base dataset's split plus the labelled photos, as train/ and test/ folders.

Files are linked, not copied, where the file system allows. The test folder is the held-out set on which both the
new challenger and the champion are evaluated. No database writes.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from predictions.inference import food_key

from ..datasets import dataset_scan
from ..labelling.services import LabelExport, labels_export

TEST_FRACTION = 0.25


@dataclass(frozen=True)
class RetrainDataset:
    root: Path
    export: LabelExport
    images_sha256: str  # over every (split, class, photo sha256) used, sorted
    image_count: int
    classes: list[str]
    skipped_classes: list[str]  # labelled classes with a single photo: nothing to hold out


def _place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copyfile(source, target)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def retrain_dataset_build(*, root: Path, base_dataset: Path | None, seed: int = 0) -> RetrainDataset:
    """Write ``root/train/<class>/`` and ``root/test/<class>/`` from the base dataset (its own split) and the labels.

    Labels of a food the base dataset has go into its class folder; a labelled class with one photo is left out
    (listed in ``skipped_classes``). Raises DatasetInvalid for an unusable base dataset, ExportInvalid for ``root``.
    """
    root = Path(root)
    placed: list[tuple[str, str, Path]] = []  # (split, class, file)
    folder_for: dict[str, str] = {}
    if base_dataset is not None:
        split = dataset_scan(Path(base_dataset))
        folder_for = {food_key(name): name for name in split.class_names}
        for part, samples in (("train", split.train), ("test", split.test)):
            for sample in samples:
                name = split.class_names[sample.label]
                target = root / part / name / f"base-{len(placed)}{sample.path.suffix.lower()}"
                _place(sample.path, target)
                placed.append((part, name, target))
    export = labels_export(out_dir=root / "labels", folder_for=folder_for)
    skipped = []
    for folder in sorted(path for path in export.root.iterdir() if path.is_dir()):
        photos = sorted(folder.iterdir())
        if len(photos) < 2:
            skipped.append(folder.name)
            continue
        random.Random(f"{seed}:{folder.name}").shuffle(photos)
        held_out = max(1, round(len(photos) * TEST_FRACTION))
        for index, photo in enumerate(photos):
            part = "test" if index < held_out else "train"
            target = root / part / folder.name / f"label-{photo.name}"
            _place(photo, target)
            placed.append((part, folder.name, target))
    shutil.rmtree(export.root)  # its photos are linked into train/ and test/ now
    digest = hashlib.sha256("\n".join(sorted(f"{part}/{name}/{_sha256(path)}" for part, name, path in placed)).encode()).hexdigest()
    classes = sorted({name for _, name, _ in placed})
    return RetrainDataset(root=root, export=export, images_sha256=digest, image_count=len(placed), classes=classes, skipped_classes=skipped)
