"""Property tests of upload validation: whatever the bytes, the answer is a decoded RGB photo or a clear 4xx refusal."""

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from predictions.images import ImageRejected, Limits, decode_upload, encode_for_storage

LIMITS = Limits(max_bytes=2 * 1024 * 1024, max_pixels=4_000_000, min_side=32, max_side=4000, max_aspect_ratio=8.0)
CODES = {"empty_file", "not_an_image", "corrupt_image", "unsupported_format", "file_too_large", "too_many_pixels", "bad_dimensions"}
PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def photos(draw, *, min_side: int = 1, max_side: int = 300):
    """An encoded image: any size, colour mode and accepted format, with random pixels."""
    width = draw(st.integers(min_side, max_side))
    height = draw(st.integers(min_side, max_side))
    mode = draw(st.sampled_from(["RGB", "L", "RGBA", "P", "CMYK", "I;16", "1"]))
    image_format = draw(st.sampled_from(["JPEG", "PNG", "WEBP"]))
    seed = draw(st.integers(0, 2**32 - 1))
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    writable = {"JPEG": ("RGB", "L", "CMYK"), "PNG": ("RGB", "L", "RGBA", "P", "I;16", "1"), "WEBP": ("RGB", "RGBA")}
    if mode not in writable[image_format]:
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue(), (width, height)


def outcome(data: bytes):
    try:
        return decode_upload(data, limits=LIMITS)
    except ImageRejected as refusal:
        return refusal


def acceptable(width: int, height: int) -> bool:
    long, short = max(width, height), min(width, height)
    return short >= LIMITS.min_side and long <= LIMITS.max_side and long / short <= LIMITS.max_aspect_ratio


@PROPERTIES
@given(st.binary(max_size=4096))
def test_any_bytes_give_a_photo_or_a_clear_refusal(data):
    result = outcome(data)

    if isinstance(result, ImageRejected):
        assert result.code in CODES
        assert 400 <= result.status < 500
        assert result.message.strip()
    else:
        assert result.image.mode == "RGB"


@PROPERTIES
@given(photos())
def test_a_photo_within_the_limits_decodes_to_rgb_of_its_size_and_others_are_refused_for_their_dimensions(photo):
    data, (width, height) = photo

    result = outcome(data)

    if acceptable(width, height):
        assert not isinstance(result, ImageRejected), result
        assert (result.width, result.height) == (width, height)
        assert result.image.mode == "RGB"
    else:
        assert isinstance(result, ImageRejected)
        assert result.code == "bad_dimensions"


@PROPERTIES
@given(photos(min_side=32, max_side=200), st.data())
def test_damaged_photos_are_decoded_or_refused_never_an_error(photo, data):
    encoded, _ = photo
    cut = data.draw(st.integers(0, len(encoded) - 1))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(encoded) - 1), st.integers(1, 255)), max_size=8))
    damaged = bytearray(encoded[:cut] if data.draw(st.booleans()) else encoded)
    for position, mask in flips:
        if position < len(damaged):
            damaged[position] ^= mask

    result = outcome(bytes(damaged))

    assert isinstance(result, ImageRejected) or result.image.mode == "RGB"


@PROPERTIES
@given(photos(min_side=32, max_side=300))
def test_what_is_stored_is_always_a_plain_jpeg_without_metadata(photo):
    data, _ = photo
    result = outcome(data)
    if isinstance(result, ImageRejected):
        return

    stored = Image.open(io.BytesIO(encode_for_storage(result.image, max_side=256)))

    assert stored.format == "JPEG"
    assert max(stored.size) <= 256
    assert not stored.getexif()
    assert "exif" not in stored.info
