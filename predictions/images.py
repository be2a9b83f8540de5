"""Validating and decoding uploaded photos. Pillow and NumPy only, no Django.

Every refusal is an ``ImageRejected`` with an HTTP status and a sentence a person
understands; nothing about a refused upload is kept but that reason.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int
    min_side: int
    max_side: int
    max_aspect_ratio: float
    decode_short_side: int = 256


class ImageRejected(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ImageStats:
    """Per-image input statistics, recorded for input-drift tests and quality hints."""

    brightness: float
    contrast: float
    sharpness: float


@dataclass(frozen=True)
class DecodedImage:
    image: Image.Image  # RGB, upright, reduced for speed (short side >= decode_short_side)
    format: str
    width: int  # of the original photo, upright
    height: int
    size_bytes: int
    frames: int
    stats: ImageStats


def decode_upload(data: bytes, *, limits: Limits) -> DecodedImage:
    """Check and decode one uploaded photo, or raise ImageRejected."""
    check_size(len(data), limits=limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected("too_many_pixels", _too_many_pixels_message(limits), status=413) from None
    except UnidentifiedImageError:
        raise ImageRejected("not_an_image", "This file is not an image we can read. Upload a JPEG, PNG or WebP photo.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # The header itself is cut off or damaged (Pillow: "Truncated File Read", ...).
        raise ImageRejected("corrupt_image", f"The image data is damaged or incomplete ({exc}). Try uploading it again.") from None

    if image.format not in ALLOWED_FORMATS:
        raise ImageRejected(
            "unsupported_format",
            f"{image.format or 'This'} images are not accepted. Upload a JPEG, PNG or WebP photo.",
            status=415,
        )
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageRejected("too_many_pixels", _too_many_pixels_message(limits), status=413)
    if min(width, height) < limits.min_side or max(width, height) > limits.max_side:
        raise ImageRejected(
            "bad_dimensions",
            f"The photo is {width}×{height} pixels; each side must be between {limits.min_side} and {limits.max_side} pixels.",
        )
    if max(width, height) / min(width, height) > limits.max_aspect_ratio:
        raise ImageRejected(
            "bad_dimensions",
            f"The photo is {width}×{height} pixels, too long and thin to show a meal (at most {limits.max_aspect_ratio:g}:1).",
        )

    frames = getattr(image, "n_frames", 1)
    if image.format == "JPEG":
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: a 12 MP photo costs a few ms.
        scale = limits.decode_short_side / min(width, height)
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    try:
        image.seek(0)  # animated images: the first frame is the photo
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected("corrupt_image", f"The image data is damaged or incomplete ({exc}). Try uploading it again.") from None

    upright = ImageOps.exif_transpose(image)
    if upright.size != image.size:
        width, height = height, width
    rgb = _to_rgb(upright)
    if min(rgb.size) > 2 * limits.decode_short_side:
        rgb = ImageOps.contain(rgb, _bounded_size(rgb.size, 2 * limits.decode_short_side), Image.Resampling.BILINEAR)
    return DecodedImage(
        image=rgb,
        format=image.format,
        width=width,
        height=height,
        size_bytes=len(data),
        frames=frames,
        stats=image_stats(rgb),
    )


def check_size(size: int, *, limits: Limits) -> None:
    """Refuse empty and oversized files before anything is decoded."""
    if size == 0:
        raise ImageRejected("empty_file", "The file is empty. Choose a photo and try again.")
    if size > limits.max_bytes:
        raise ImageRejected(
            "file_too_large",
            f"The file is {size / 1_048_576:.1f} MB; the limit is {limits.max_bytes / 1_048_576:.0f} MB.",
            status=413,
        )


def _too_many_pixels_message(limits: Limits) -> str:
    return f"The photo has too many pixels; the limit is {limits.max_pixels / 1e6:.0f} megapixels."


def _bounded_size(size: tuple[int, int], short_side: int) -> tuple[int, int]:
    width, height = size
    scale = short_side / min(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "I;16" or image.mode == "I":
        array = np.asarray(image, dtype=np.float32)
        peak = float(array.max()) or 1.0
        return Image.fromarray((array / peak * 255).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def image_stats(image: Image.Image) -> ImageStats:
    """Brightness and contrast (0-1) and sharpness (variance of the Laplacian) on a greyscale copy of about 256 px.

    The copy is made by box reduction (an integer factor), several times cheaper than resampling.
    """
    grey = image.convert("L")
    factor = math.ceil(max(grey.size) / 256)
    if factor > 1:
        grey = grey.reduce(factor)
    pixels = np.asarray(grey, dtype=np.float32) / 255.0
    laplacian = pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:] - 4 * pixels[1:-1, 1:-1]
    return ImageStats(
        brightness=round(float(pixels.mean()), 5),
        contrast=round(float(pixels.std()), 5),
        sharpness=round(float(laplacian.var()), 6),
    )


def quality_hints(stats: ImageStats, *, dark_below: float, blurry_below: float) -> list[str]:
    hints = []
    if stats.brightness < dark_below:
        hints.append("The photo is very dark. For a better answer, retake it in more light.")
    if stats.sharpness < blurry_below:
        hints.append("The photo looks blurry. For a better answer, hold the camera still and retake it.")
    return hints


def encode_for_storage(image: Image.Image, *, max_side: int) -> bytes:
    """Re-encode as JPEG without any metadata (no EXIF, no GPS)."""
    stored = ImageOps.contain(image, (max_side, max_side), Image.Resampling.LANCZOS) if max(image.size) > max_side else image
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
