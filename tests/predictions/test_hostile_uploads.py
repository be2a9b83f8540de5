"""Hostile uploads through the API: each gets a clear answer, nothing unsafe is stored, the model never runs on a refusal."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from predictions.models import Prediction
from tests.images import encode, png_to_jpeg

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, name: str = "meal.jpg"):
    return client.post("/api/v1/predict", {"image": SimpleUploadedFile(name, data, content_type="application/octet-stream")})


def stored_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


def refused_without_trace(response, media_root, *, status: int, code: str) -> None:
    """A clear JSON refusal, a 'rejected' row that never reached the model, and no file anywhere."""
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    row = Prediction.objects.get()
    assert (row.status, row.reason_code, row.model_version, row.image.name) == ("rejected", code, "", "")
    assert stored_files(media_root) == []


def served_photo(client, response) -> bytes:
    photo = client.get(response.json()["prediction"]["image"]["url"])
    assert photo["Content-Type"] == "image/jpeg"
    assert photo["X-Content-Type-Options"] == "nosniff"
    return b"".join(photo.streaming_content)


@pytest.mark.parametrize(
    ("size", "band"),
    [((10_000, 9_000), "Pillow's warning band (over 89 MP)"), ((14_000, 13_000), "Pillow's error band (over 179 MP)")],
)
def test_a_decompression_bomb_is_refused_before_it_is_decoded(client, media_root, settings, size, band):
    settings.NUTRILEARN_MAX_PIXELS = 500_000_000  # so that Pillow's own bands decide, not the project's lower limit
    settings.NUTRILEARN_MAX_SIDE = 20_000
    bomb = encode(Image.new("1", size), "PNG")  # a few kB that would decode to hundreds of MB

    refused_without_trace(upload(client, bomb, "bomb.png"), media_root, status=413, code="too_many_pixels")


def test_a_one_pixel_wide_strip_is_refused_for_its_shape(client, media_root):
    strip = encode(Image.new("RGB", (1, 12_000), "white"), "PNG")

    refused_without_trace(upload(client, strip, "strip.png"), media_root, status=400, code="bad_dimensions")


def test_an_animated_gif_with_thousands_of_frames_is_refused_as_a_gif(client, media_root):
    frames = [Image.new("P", (64, 64), index % 256) for index in range(3000)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])

    refused_without_trace(upload(client, gif, "many.gif"), media_root, status=415, code="unsupported_format")


def test_an_animated_webp_with_thousands_of_frames_is_recognised_from_its_first_frame(client, catalogue, coffee_png):
    # At the network's input size, so that encoding 2,000 frames stays short; the colours differ enough from frame to
    # frame that the encoder cannot merge them (nearly equal ones became 126 frames).
    first = Image.open(io.BytesIO(coffee_png)).convert("RGB").resize((240, 160))
    colours = [((index * 67) % 256, (index * 29) % 256, (index * 13) % 256) for index in range(1999)]
    frames = [first] + [Image.new("RGB", first.size, colour) for colour in colours]
    webp = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], quality=30, method=0)
    assert Image.open(io.BytesIO(webp)).n_frames == 2000

    response = upload(client, webp, "many.webp")

    assert response.status_code == 201
    assert response.json()["prediction"]["food"]["key"] == "espresso"


def test_a_png_with_html_appended_is_stored_and_served_as_a_plain_jpeg(client, catalogue, coffee_png, media_root):
    polyglot = coffee_png + b"<html><script>alert(document.cookie)</script></html>"

    response = upload(client, polyglot, "coffee.png.html")

    assert response.status_code == 201
    body = served_photo(client, response)
    assert body[:3] == b"\xff\xd8\xff"
    assert b"<script" not in body
    assert all(b"<script" not in path.read_bytes() for path in stored_files(media_root))


def test_a_jpeg_with_a_zip_archive_appended_loses_the_archive(client, catalogue, coffee_png, media_root):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.php", "<?php system($_GET['c']); ?>")
    polyglot = png_to_jpeg(coffee_png) + archive.getvalue()

    response = upload(client, polyglot, "holiday.jpg")

    assert response.status_code == 201
    body = served_photo(client, response)
    assert b"PK\x03\x04" not in body
    assert b"payload.php" not in body


@pytest.mark.parametrize(
    "name",
    ["../../x.png", "x.php.jpg", "meal\x00.php", "a" * 300 + ".jpg", "meal\u202egpj.exe", "/etc/passwd", "..\\..\\x.jpg"],
)
def test_a_dangerous_file_name_is_never_used_for_storage(client, catalogue, coffee_png, media_root, name):
    response = upload(client, png_to_jpeg(coffee_png), name)

    assert response.status_code == 201
    (stored,) = stored_files(media_root)
    assert stored.is_relative_to(media_root)
    assert stored.suffix == ".jpg"
    assert len(stored.stem) == 32 and all(character in "0123456789abcdef" for character in stored.stem)


@pytest.mark.parametrize("mode", ["CMYK", "I;16"])
def test_cmyk_jpegs_and_16_bit_pngs_are_recognised(client, catalogue, coffee_png, mode):
    image = Image.open(io.BytesIO(coffee_png)).convert("RGB")
    data = encode(image.convert("CMYK"), "JPEG", quality=92) if mode == "CMYK" else encode(image.convert("I;16"), "PNG")

    response = upload(client, data, "odd.jpg")

    assert response.status_code == 201
    if mode == "CMYK":
        assert response.json()["prediction"]["food"]["key"] == "espresso"
