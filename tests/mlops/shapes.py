"""A small labelled photo set generated on the fly: coloured shapes on noisy backgrounds."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = {
    "red_disc": ("ellipse", (210, 40, 40)),
    "blue_square": ("rectangle", (40, 70, 220)),
    "green_triangle": ("triangle", (40, 170, 60)),
    "yellow_cross": ("cross", (230, 200, 30)),
}


def shape_image(kind: str, colour: tuple[int, int, int], rng: np.random.Generator, size: int = 64) -> Image.Image:
    background = rng.integers(90, 170, size=3)
    noise = rng.normal(0, 18, size=(size, size, 3))
    pixels = np.clip(background + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, mode="RGB")
    draw = ImageDraw.Draw(image)
    extent = int(rng.integers(size // 3, size * 3 // 4))
    left, top = (int(v) for v in rng.integers(0, size - extent, size=2))
    right, bottom = left + extent, top + extent
    jitter = tuple(int(np.clip(c + rng.integers(-25, 25), 0, 255)) for c in colour)
    if kind == "ellipse":
        draw.ellipse((left, top, right, bottom), fill=jitter)
    elif kind == "rectangle":
        draw.rectangle((left, top, right, bottom), fill=jitter)
    elif kind == "triangle":
        draw.polygon([(left, bottom), (right, bottom), ((left + right) // 2, top)], fill=jitter)
    else:
        bar = max(3, extent // 4)
        middle_x, middle_y = (left + right) // 2, (top + bottom) // 2
        draw.rectangle((left, middle_y - bar, right, middle_y + bar), fill=jitter)
        draw.rectangle((middle_x - bar, top, middle_x + bar, bottom), fill=jitter)
    return image


def write_shapes_dataset(root: Path, *, per_class: int = 30, seed: int = 0, size: int = 64) -> Path:
    """root/<class>/<n>.png for each shape class; the same files for the same seed."""
    rng = np.random.default_rng(seed)
    for name, (kind, colour) in SHAPES.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            shape_image(kind, colour, rng, size).save(folder / f"{index:03d}.png")
    return root
