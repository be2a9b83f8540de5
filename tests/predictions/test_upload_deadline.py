"""An upload whose body stops arriving is a 408 once NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS have passed, with nothing stored.

The body comes from a real socket, as under gunicorn (which hands the app its socket as ``gunicorn.socket``);
tests/production/test_stack.py checks the same against gunicorn itself.
"""

import socket
import threading

import pytest

from predictions.models import Prediction

from .test_upload_limits import BOUNDARY, multipart

# Without the deadline the server end would wait for the rest of the body forever.
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


@pytest.fixture
def connection():
    """(the server's end, the client's end) of a real TCP-like connection."""
    server_end, client_end = socket.socketpair()
    yield server_end, client_end
    server_end.close()
    client_end.close()


def post_from_socket(client, path: str, server_end: socket.socket, length: int):
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    body = server_end.makefile("rb")
    extra = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(length), "wsgi.input": body, "gunicorn.socket": server_end}
    return client.generic("POST", path, b"", content_type=content_type, **extra)


def test_an_upload_whose_body_stops_arriving_is_a_json_408_and_nothing_is_stored(client, settings, connection, media_root):
    settings.NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS = 0.3
    server_end, client_end = connection
    body = multipart([("image", "meal.png", b"x" * 50_000)])
    client_end.sendall(body[:1000])  # and then nothing more

    response = post_from_socket(client, "/api/v1/predict", server_end, len(body))

    assert response.status_code == 408
    assert response.json()["error"]["code"] == "request_timeout"
    assert "0.3 seconds" in response.json()["error"]["message"]
    refusal = Prediction.objects.get()
    assert (refusal.status, refusal.status_code, refusal.reason_code) == (Prediction.Status.REJECTED, 408, "request_timeout")
    assert not [path for path in media_root.rglob("*") if path.is_file()]


def test_an_upload_trickling_a_byte_at_a_time_is_cut_off_at_the_deadline(client, settings, connection):
    settings.NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS = 0.5
    server_end, client_end = connection
    body = multipart([("image", "meal.png", b"x" * 50_000)])
    client_end.sendall(body[:1000])
    answered = threading.Event()

    def trickle():  # a byte every 20 ms: each read of the server gets something long before the deadline
        for offset in range(1000, len(body)):
            if answered.wait(0.02):
                return
            try:
                client_end.sendall(body[offset : offset + 1])
            except OSError:  # the server stopped reading
                return

    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    response = post_from_socket(client, "/api/v1/predict", server_end, len(body))
    answered.set()
    sender.join()

    assert response.status_code == 408
    assert response.json()["error"]["code"] == "request_timeout"
    assert Prediction.objects.get().reason_code == "request_timeout"


def test_the_upload_form_answers_a_stalled_body_with_a_page_that_says_to_send_it_again(client, settings, connection):
    settings.NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS = 0.3
    server_end, client_end = connection
    body = multipart([("image", "meal.png", b"x" * 50_000)])
    client_end.sendall(body[:1000])

    response = post_from_socket(client, "/", server_end, len(body))

    assert response.status_code == 408
    assert "send it again" in response.content.decode()


def test_a_body_that_arrives_in_time_is_read_whole(client, settings, connection):
    settings.NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS = 30
    server_end, client_end = connection
    body = multipart([("image", "meal.png", b"not an image")])
    client_end.sendall(body)

    response = post_from_socket(client, "/api/v1/predict", server_end, len(body))

    # The whole body was read and the photo itself judged (it is not an image), not the connection.
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_an_image"
