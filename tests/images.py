"""Small helpers that build test photos in memory."""

import io

from PIL import Image


def encode(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_to_jpeg(data: bytes, size: tuple[int, int] | None = None, quality: int = 90, **params) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if size is not None:
        image = image.resize(size, Image.Resampling.BICUBIC)
    return encode(image, "JPEG", quality=quality, **params)
