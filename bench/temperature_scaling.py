"""What temperature scaling does to a freshly trained model's confidence, on generated photo sets (no database, no MLflow).

Two generated sets of four shapes on noisy backgrounds (``tests/mlops/shapes.py``): ``coloured``, where
each shape has its own colour (easy), and ``shape-only``, where every photo gets a random colour so
only the outline tells the classes apart (hard enough that the model is often wrong). Each is trained
with a small recipe for a few seeds; the temperature is fitted on the test split's centre-crop logits.

    .venv/bin/python bench/temperature_scaling.py [--per-class 40] [--seeds 0 1 2] [--image-size 64]

Prints, per set and seed: test accuracy, the fitted temperature, ECE before (T = 1) and after
(out of fold), and the negative log-likelihood before and after.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlops.datasets import dataset_scan  # noqa: E402
from mlops.training import TrainingConfig, train  # noqa: E402
from predictions.inference import bundled_weights_path, load_state_dict  # noqa: E402
from tests.mlops.shapes import SHAPES, shape_image, write_shapes_dataset  # noqa: E402


def write_shape_only_dataset(root: Path, *, per_class: int, seed: int, size: int) -> Path:
    """Like ``write_shapes_dataset`` but with a random colour per photo: the outline is the only cue."""
    rng = np.random.default_rng(seed)
    for name, (kind, _) in SHAPES.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
            shape_image(kind, colour, rng, size).save(folder / f"{index:03d}.png")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args()
    base = load_state_dict(bundled_weights_path(), expected_sha256=None)
    config = TrainingConfig(image_size=args.image_size, views=2, head_epochs=10, epochs=3, batch_size=32, threads=2, workers=0)
    print("set          seed  accuracy  temperature  ECE before  ECE after  NLL before  NLL after  test photos")
    for name, writer in (("coloured", write_shapes_dataset), ("shape-only", write_shape_only_dataset)):
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as folder:
                root = writer(Path(folder) / name, per_class=args.per_class, seed=seed, size=48)
                split = dataset_scan(root, seed=seed)
                result = train(split, config, base_state_dict=base, progress=False, log=lambda line: None)
            fit = result.calibration
            print(
                f"{name:<12} {seed:>4}  {result.report.accuracy:>8.3f}  {fit.temperature:>11.3f}  {fit.ece_before:>10.3f}  "
                f"{fit.ece_after:>9.3f}  {fit.nll_before:>10.3f}  {fit.nll_after:>9.3f}  {fit.sample_count:>11}"
            )


if __name__ == "__main__":
    main()
