"""Generated stand-ins for Food-101 photos: JPEGs of the same size and encoding, one class per source picture.

Food-101 cannot be downloaded here. Its photos are JPEGs of about 512 x 384 to 512 x 512
pixels and 30-80 KB; these are built to match that, so that decoding, augmentation and the
network see the same amount of work. Each class is one of the photos shipped with
scikit-image (grey ones tinted): a photo of a class is a random crop of its source
(resized up, as phone photos of a plate are), flipped, colour-shifted, with film grain,
and blended with a crop of another class's source. The crops are small and the blends
strong enough that a linear probe of the frozen network is far from perfect; accuracy on
them says nothing about Food-101, only whether one recipe beats another.

    .venv/bin/python bench/stand_in_photos.py OUT_DIR [--classes 10] [--train 375] [--test 125]

writes OUT_DIR/train/<class>/*.jpg and OUT_DIR/test/<class>/*.jpg, a layout ``manage.py train`` reads.
"""

from __future__ import annotations

import argparse
import io
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

# (class name, file in skimage/data, tint for grey sources)
SOURCES = (
    ("astronaut", "astronaut.png", None),
    ("chelsea", "chelsea.png", None),
    ("coffee", "coffee.png", None),
    ("rocket", "rocket.jpg", None),
    ("motorcycle", "motorcycle_left.png", None),
    ("hubble", "hubble_deep_field.jpg", None),
    ("ihc", "ihc.png", None),
    ("retina", "retina.jpg", None),
    ("brick", "brick.png", (1.0, 0.75, 0.55)),
    ("grass", "grass.png", (0.65, 1.0, 0.55)),
    ("gravel", "gravel.png", (0.9, 0.9, 1.0)),
    ("camera", "camera.png", (1.0, 0.95, 0.8)),
    ("moon", "moon.png", (0.8, 0.85, 1.0)),
    ("cell", "cell.png", (0.95, 0.7, 0.9)),
    ("coins", "coins.png", (1.0, 0.85, 0.5)),
    ("clock", "clock_motion.png", (0.7, 0.9, 0.95)),
)
SIZES = ((512, 384), (384, 512), (512, 512), (512, 341), (512, 406), (406, 512))
MAX_CLASSES = len(SOURCES)


@cache
def _source(index: int) -> Image.Image:
    import skimage

    name, filename, tint = SOURCES[index]
    image = Image.open(Path(skimage.__file__).parent / "data" / filename)
    if tint is None:
        return image.convert("RGB")
    grey = np.asarray(image.convert("L"), dtype=np.float32)[..., None]
    return Image.fromarray(np.clip(grey * np.array(tint, dtype=np.float32), 0, 255).astype(np.uint8), mode="RGB")


def _crop(source: Image.Image, size: tuple[int, int], rng: np.random.Generator, area: tuple[float, float]) -> Image.Image:
    width, height = source.size
    fraction = rng.uniform(*area)
    aspect = size[0] / size[1]
    crop_w = min(width, round((fraction * width * height * aspect) ** 0.5))
    crop_h = min(height, round(crop_w / aspect))
    left, top = int(rng.integers(0, width - crop_w + 1)), int(rng.integers(0, height - crop_h + 1))
    return source.crop((left, top, left + crop_w, top + crop_h)).resize(size, Image.Resampling.BICUBIC)


def stand_in_photo(label: int, seed: int, *, classes: int = 10, blend: float = 0.45) -> bytes:
    """One JPEG of class ``label``; the same bytes for the same (label, seed, classes, blend)."""
    rng = np.random.default_rng([seed, label])
    size = SIZES[int(rng.integers(len(SIZES)))]
    photo = _crop(_source(label), size, rng, (0.04, 0.35))
    if rng.random() < 0.5:
        photo = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    pixels = np.asarray(photo, dtype=np.float32)
    other = (label + int(rng.integers(1, classes))) % classes
    distractor = np.asarray(_crop(_source(other), size, rng, (0.04, 0.5)), dtype=np.float32)
    alpha = rng.uniform(0.1, blend)
    pixels = (1 - alpha) * pixels + alpha * distractor
    pixels = pixels * rng.uniform(0.75, 1.25, size=3) + rng.uniform(-20, 20)
    pixels += rng.normal(0, rng.uniform(3, 7), size=pixels.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB").save(buffer, format="JPEG", quality=int(rng.integers(80, 95)))
    return buffer.getvalue()


def _write(job: tuple[Path, int, int, int, float]) -> int:
    path, label, seed, classes, blend = job
    data = stand_in_photo(label, seed, classes=classes, blend=blend)
    path.write_bytes(data)
    return len(data)


def write_stand_in_dataset(
    root: Path, *, classes: int = 10, train: int = 375, test: int = 125, seed: int = 0, blend: float = 0.45, processes: int = 2,
) -> Path:
    """root/train/<class>/NNNN.jpg and root/test/<class>/NNNN.jpg; the same files for the same arguments."""
    if not 2 <= classes <= MAX_CLASSES:
        raise ValueError(f"classes must be between 2 and {MAX_CLASSES}")
    jobs = []
    for label, (name, _, _) in enumerate(SOURCES[:classes]):
        for split, count, offset in (("train", train, 0), ("test", test, 1_000_000)):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            jobs += [(folder / f"{index:04d}.jpg", label, seed * 10_000_000 + offset + index, classes, blend) for index in range(count)]
    if processes > 1:
        with ProcessPoolExecutor(processes) as pool:
            list(pool.map(_write, jobs, chunksize=32))
    else:
        for job in jobs:
            _write(job)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--classes", type=int, default=10, help=f"at most {MAX_CLASSES} (default 10)")
    parser.add_argument("--train", type=int, default=375, help="training photos per class (default 375, as Food-101 has 750)")
    parser.add_argument("--test", type=int, default=125, help="test photos per class (default 125)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blend", type=float, default=0.45, help="strongest blend with another class's source (default 0.45)")
    args = parser.parse_args()
    write_stand_in_dataset(args.out_dir, classes=args.classes, train=args.train, test=args.test, seed=args.seed, blend=args.blend)
    sizes = [path.stat().st_size for path in args.out_dir.rglob("*.jpg")]
    print(f"{len(sizes)} photos in {args.out_dir}, {np.median(sizes) / 1024:.0f} KB median ({min(sizes) // 1024}-{max(sizes) // 1024} KB)")


if __name__ == "__main__":
    main()
