"""Upload validation and decoding, without Django or the network."""

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from predictions.images import ImageRejected, Limits, decode_upload, encode_for_storage, image_stats, quality_hints
from tests.images import encode, png_to_jpeg

LIMITS = Limits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, min_side=32, max_side=12_000, max_aspect_ratio=8.0)


def rejected(data: bytes, limits: Limits = LIMITS) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        decode_upload(data, limits=limits)
    return info.value


def test_it_rejects_an_empty_file():
    assert rejected(b"").code == "empty_file"


def test_it_rejects_bytes_that_are_not_an_image():
    error = rejected(b"%PDF-1.7 definitely not a photo" * 20)

    assert error.code == "not_an_image"
    assert error.status == 400


def test_it_rejects_a_truncated_jpeg(coffee_png):
    data = png_to_jpeg(coffee_png)

    error = rejected(data[: len(data) // 2])

    assert error.code == "corrupt_image"


def test_it_rejects_a_jpeg_cut_off_inside_its_header(coffee_png):
    error = rejected(png_to_jpeg(coffee_png)[:6])  # found by the property tests: Pillow raised a bare OSError

    assert error.code == "corrupt_image"
    assert error.status == 400


def test_it_rejects_formats_outside_the_allowlist():
    gif = encode(Image.new("RGB", (64, 64), "red"), "GIF")
    bmp = encode(Image.new("RGB", (64, 64), "red"), "BMP")

    assert rejected(gif).status == 415
    assert rejected(bmp).code == "unsupported_format"


def test_it_rejects_a_file_over_the_size_limit(coffee_png):
    limits = Limits(max_bytes=1000, max_pixels=40_000_000, min_side=32, max_side=12_000, max_aspect_ratio=8.0)

    error = rejected(coffee_png, limits)

    assert error.code == "file_too_large"
    assert error.status == 413


def test_it_rejects_a_pixel_count_over_its_own_limit():
    data = encode(Image.new("1", (8000, 6000)), "PNG")  # 48 MP, a few kB

    assert rejected(data).code == "too_many_pixels"


def test_it_rejects_pillows_decompression_bomb_warning_band():
    limits = Limits(max_bytes=10**9, max_pixels=10**9, min_side=1, max_side=10**6, max_aspect_ratio=1000)
    data = encode(Image.new("1", (10_000, 10_000)), "PNG")  # 100 MP: above Pillow's warning level

    assert rejected(data, limits).code == "too_many_pixels"


def test_it_rejects_pillows_decompression_bomb_error_band():
    limits = Limits(max_bytes=10**9, max_pixels=10**9, min_side=1, max_side=10**6, max_aspect_ratio=1000)
    data = encode(Image.new("1", (14_000, 14_000)), "PNG")  # 196 MP: above Pillow's error level

    assert rejected(data, limits).status == 413


@pytest.mark.parametrize("size", [(10, 10), (4000, 100)])
def test_it_rejects_absurd_dimensions(size):
    assert rejected(encode(Image.new("RGB", size, "white"), "PNG")).code == "bad_dimensions"


def test_it_uses_the_first_frame_of_an_animated_image():
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue", "green")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)

    decoded = decode_upload(buffer.getvalue(), limits=LIMITS)

    assert decoded.frames == 3
    assert decoded.image.getpixel((32, 32)) == (255, 0, 0)


def test_it_applies_exif_orientation():
    image = Image.new("RGB", (200, 100), "white")
    image.paste((255, 0, 0), (0, 0, 100, 100))  # red on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    data = encode(image, "JPEG", exif=exif, quality=95)

    decoded = decode_upload(data, limits=LIMITS)

    assert (decoded.width, decoded.height) == (100, 200)
    red, green, _ = decoded.image.getpixel((decoded.image.width // 2, 10))
    assert red > 200 and green < 60  # the red half is now on top


def test_it_decodes_large_jpegs_in_reduced_size(coffee_png):
    data = png_to_jpeg(coffee_png, size=(4000, 3000))

    decoded = decode_upload(data, limits=LIMITS)

    assert (decoded.width, decoded.height) == (4000, 3000)
    assert 256 <= min(decoded.image.size) < 512


def test_stored_copy_has_no_exif_and_is_bounded(coffee_png):
    exif = Image.Exif()
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    image = Image.open(io.BytesIO(coffee_png)).convert("RGB")
    decoded = decode_upload(encode(image, "JPEG", exif=exif), limits=LIMITS)

    stored = Image.open(io.BytesIO(encode_for_storage(decoded.image, max_side=200)))

    assert max(stored.size) == 200
    assert len(stored.getexif()) == 0
    assert "exif" not in stored.info


def test_dark_and_blurry_photos_get_hints(coffee_png):
    image = Image.open(io.BytesIO(coffee_png)).convert("RGB")
    dark = Image.fromarray((np.asarray(image) * 0.05).astype(np.uint8))
    blurry = image.filter(ImageFilter.GaussianBlur(8))

    sharp_hints = quality_hints(image_stats(image), dark_below=0.12, blurry_below=0.001)
    dark_hints = quality_hints(image_stats(dark), dark_below=0.12, blurry_below=0.001)
    blurry_hints = quality_hints(image_stats(blurry), dark_below=0.12, blurry_below=0.001)

    assert sharp_hints == []
    assert any("dark" in hint for hint in dark_hints)
    assert any("blurry" in hint for hint in blurry_hints)


def test_transparent_png_is_composited_on_white():
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))

    decoded = decode_upload(encode(image, "PNG"), limits=LIMITS)

    assert decoded.image.getpixel((5, 5)) == (255, 255, 255)
