"""Uploads that break Django's request limits are refused like any other bad input: the project's error, a rejected row,
and a body over the size limit is refused before it is read."""

import io

import pytest

from predictions.models import Prediction

pytestmark = pytest.mark.django_db

BOUNDARY = "nutrilearn-test-boundary"


def multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart/form-data body from (field, filename or None, content) parts."""
    chunks = []
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode())
        chunks.append(b"Content-Type: image/png\r\n\r\n" if filename else b"\r\n")
        chunks.append(content + b"\r\n")
    chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


class CountingStream:
    """A request body that counts what the server reads of it."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = self._data.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = self._data.readline(size)
        self.bytes_read += len(line)
        return line


def post_body(client, path: str, body: bytes, **extra):
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    return client.generic("POST", path, body, content_type=content_type, **{"CONTENT_TYPE": content_type, **extra})


def the_refusal() -> Prediction:
    return Prediction.objects.get(status=Prediction.Status.REJECTED)


def test_a_thousand_file_parts_are_a_json_400_with_a_rejected_row(client, media_root):
    body = multipart([("image", f"m{i}.png", b"x") for i in range(1000)])

    response = post_body(client, "/api/v1/predict", body)

    assert response.status_code == 400
    assert response.json()["status"] == "error"
    assert response.json()["error"]["code"] == "too_many_files"
    refusal = the_refusal()
    assert (refusal.status_code, refusal.reason_code, refusal.source) == (400, "too_many_files", "api")


def test_a_thousand_file_parts_on_the_upload_form_show_the_page_with_the_reason(client):
    body = multipart([("image", f"m{i}.png", b"x") for i in range(1000)])

    response = post_body(client, "/", body)

    assert response.status_code == 400
    assert "Send one photo per request" in response.content.decode()
    assert (the_refusal().reason_code, the_refusal().source) == ("too_many_files", "web")


def test_a_body_that_is_not_a_form_is_a_json_415_with_a_rejected_row(client):
    response = client.post("/api/v1/predict", {"image": "aGVsbG8="}, content_type="application/json")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert (the_refusal().status_code, the_refusal().reason_code) == (415, "unsupported_media_type")


def test_a_large_text_part_is_a_json_413_with_a_rejected_row(client, settings):
    body = multipart([("note", None, b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)), ("image", "m.png", b"x")])

    response = post_body(client, "/api/v1/predict", body)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert (the_refusal().status_code, the_refusal().reason_code) == (413, "request_too_large")


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(client, settings):
    stream = CountingStream(multipart([("image", "m.png", b"x" * 1000)]))

    response = post_body(client, "/api/v1/predict", b"", CONTENT_LENGTH=str(100 * 1024 * 1024), **{"wsgi.input": stream})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert "100.0 MB" in response.json()["error"]["message"]
    assert stream.bytes_read == 0
    refusal = the_refusal()
    assert (refusal.status_code, refusal.reason_code, refusal.image_size_bytes) == (413, "file_too_large", 100 * 1024 * 1024)


def test_the_upload_form_refuses_a_body_over_the_limit_before_it_is_read(client, settings):
    stream = CountingStream(b"")

    response = post_body(client, "/", b"", CONTENT_LENGTH=str(settings.NUTRILEARN_MAX_UPLOAD_BYTES * 2), **{"wsgi.input": stream})

    assert response.status_code == 413
    assert "limit" in response.content.decode()
    assert stream.bytes_read == 0
    assert the_refusal().source == "web"


def test_a_chunked_body_over_the_limit_is_refused_once_the_running_count_passes_it(client, settings):
    settings.NUTRILEARN_MAX_UPLOAD_BYTES = 100_000
    stream = CountingStream(multipart([("image", "m.png", b"x" * 5_000_000)]))

    response = post_body(
        client, "/api/v1/predict", b"", CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": stream, "wsgi.input_terminated": True},
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert stream.bytes_read < 1_000_000
    assert the_refusal().reason_code == "file_too_large"


def test_a_chunked_upload_under_the_limit_is_recognised(client, catalogue, coffee_png):
    stream = CountingStream(multipart([("image", "coffee.png", coffee_png)]))

    response = post_body(
        client, "/api/v1/predict", b"", CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": stream, "wsgi.input_terminated": True},
    )

    assert response.status_code == 201, response.content
    assert response.json()["prediction"]["food"]["key"] == "espresso"


def test_a_chunked_upload_the_server_cannot_delimit_asks_for_a_length(client):
    stream = CountingStream(multipart([("image", "m.png", b"x" * 1000)]))

    response = post_body(client, "/api/v1/predict", b"", CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": stream})

    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"
    assert stream.bytes_read == 0


@pytest.mark.parametrize("path", ["/api/v1/predictions/null,null", "/api/v1/predictions/null,null/feedback", "/api/v1/nothing-here"])
def test_an_api_path_that_matches_nothing_is_a_json_404(client, settings, path):
    settings.DEBUG = True  # the development server's HTML debug page must not answer either

    response = client.post(path) if path.endswith("feedback") else client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "error"
    assert response.json()["error"]["code"] == "not_found"
