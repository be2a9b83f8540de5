"""Request plumbing shared by the web form and the JSON API."""

from __future__ import annotations

import io
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, resolve

from .images import ImageRejected, check_size
from .inference import ModelUnavailable
from .models import Prediction
from .services import prediction_create, prediction_record_refusal, upload_limits

logger = logging.getLogger(__name__)


def owner_session_key(request) -> str:
    """The session that owns an anonymous user's predictions (created on first use)."""
    if request.user.is_authenticated:
        return request.session.session_key or ""
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


def predict_from_request(request, *, fields: tuple[str, ...], source: str) -> Prediction:
    """Run the one photo sent in any of ``fields`` through prediction_create.

    Every refusal is an ImageRejected or ModelUnavailable; unexpected failures are
    recorded as failed requests and re-raised.
    """
    started = time.perf_counter()
    session_key = owner_session_key(request)
    uploads = [upload for field in fields for upload in request.FILES.getlist(field)]
    refusal = None
    if len(request.FILES) > 1 or len(uploads) > 1:
        refusal = ImageRejected("too_many_files", "Send one photo per request.")
    elif not uploads:
        refusal = ImageRejected("no_file", f"No photo was sent. Attach it as the '{fields[0]}' field.")
    else:
        try:
            check_size(uploads[0].size, limits=upload_limits())
        except ImageRejected as exc:
            refusal = exc
    if refusal is not None:
        prediction_record_refusal(
            status=Prediction.Status.REJECTED, status_code=refusal.status, reason_code=refusal.code, reason=refusal.message,
            user=request.user, session_key=session_key, source=source, started=started,
            size_bytes=uploads[0].size if len(uploads) == 1 else None,
        )
        raise refusal
    data = uploads[0].read()
    try:
        return prediction_create(data=data, user=request.user, session_key=session_key, source=source, started=started)
    except (ImageRejected, ModelUnavailable):
        raise
    except Exception as exc:
        logger.exception("prediction failed")
        prediction_record_refusal(
            status=Prediction.Status.FAILED, status_code=500, reason_code="internal_error", reason=f"{type(exc).__name__}: {exc}",
            user=request.user, session_key=session_key, source=source, size_bytes=len(data), started=started,
        )
        raise


# --- refusing an upload before its body is read ---------------------------------------

# Room for the multipart framing and the small form fields (CSRF token, an empty second
# file input) around the photo itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
_CHUNK_BYTES = 64 * 1024
FORM_CONTENT_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_MB = 1_048_576


@dataclass(frozen=True)
class UploadEndpoint:
    """Declared by a view that takes one photo: where its rows come from and how it answers a refusal."""

    source: str
    respond: Callable[[HttpRequest, ImageRejected], HttpResponse]


def upload_endpoint_of(view) -> UploadEndpoint | None:
    """The UploadEndpoint of a view function, or of the DRF view class behind it; None for other views."""
    return getattr(view, "upload_endpoint", None) or getattr(getattr(view, "cls", None), "upload_endpoint", None)


class UploadGuardMiddleware:
    """Checks the body of a POST to an upload endpoint before anything else reads it.

    Django's CSRF check and DRF's session authentication read the whole multipart body, and
    Django's own limits (number of files, size of the text fields) raise errors that become
    HTML pages. Here a body over the photo limit is refused from its Content-Length (or, when
    chunked, as soon as its running count passes the limit) without being read, and the body
    is parsed once so that Django's limits become the endpoint's own refusal. Every refusal
    records a rejected row, like the refusals of the views themselves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        endpoint = _upload_endpoint_for(request) if request.method == "POST" else None
        if endpoint is not None:
            started = time.perf_counter()
            refusal, size = upload_body_check(request)
            if refusal is not None:
                prediction_record_refusal(
                    status=Prediction.Status.REJECTED, status_code=refusal.status, reason_code=refusal.code, reason=refusal.message,
                    user=request.user, session_key=owner_session_key(request), source=endpoint.source, size_bytes=size,
                    started=started,
                )
                return endpoint.respond(request, refusal)
        return self.get_response(request)


def _upload_endpoint_for(request) -> UploadEndpoint | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return upload_endpoint_of(match.func)


def upload_body_check(request) -> tuple[ImageRejected | None, int | None]:
    """(the refusal or None, the body's size when known) for an upload request; parses the body when it is acceptable."""
    max_bytes = settings.NUTRILEARN_MAX_UPLOAD_BYTES
    limit = max_bytes + MULTIPART_OVERHEAD_BYTES
    size = _declared_length(request)
    if request.content_type not in FORM_CONTENT_TYPES:
        sent = request.content_type or "no content type"
        return ImageRejected("unsupported_media_type", f"Send the photo as multipart/form-data (this request is {sent}).", 415), size
    if size is not None and size > limit:
        return ImageRejected("file_too_large", f"The upload is {size / _MB:.1f} MB; the limit is {max_bytes / _MB:.0f} MB.", 413), size
    deadline = BodyDeadline.start(request)
    try:
        refusal, size = _body_parse(request, size=size, limit=limit)
    finally:
        deadline.stop()
    if deadline.expired:
        seconds = settings.NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS
        return ImageRejected("request_timeout", f"The upload did not arrive within {seconds:g} seconds: send it again.", 408), size
    return refusal, size


def _body_parse(request, *, size: int | None, limit: int) -> tuple[ImageRejected | None, int | None]:
    max_bytes = settings.NUTRILEARN_MAX_UPLOAD_BYTES
    try:
        if size is None and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            if not request.META.get("wsgi.input_terminated"):
                # Without a length, Django would read nothing and answer "no photo".
                message = "Send the photo with a Content-Length header: this server cannot read chunked uploads."
                return ImageRejected("length_required", message, 411), None
            body = _read_at_most(request.META["wsgi.input"], limit)
            if body is None:
                return ImageRejected("file_too_large", f"The upload is over the {max_bytes / _MB:.0f} MB limit.", 413), None
            size = len(body)
            request.META["CONTENT_LENGTH"] = str(size)
            request._stream = LimitedStream(io.BytesIO(body), size)  # Django reads the body from here
        request.FILES  # noqa: B018  (parsed once: the CSRF check and the view reuse it)
    except UnreadablePostError as exc:
        return ImageRejected("incomplete_upload", f"The upload could not be read to its end: {exc}"), size
    except TooManyFilesSent:
        return ImageRejected("too_many_files", "Send one photo per request."), size
    except TooManyFieldsSent:
        return ImageRejected("too_many_fields", "The form has too many fields: send the photo alone."), size
    except RequestDataTooBig:
        allowed = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / _MB
        return ImageRejected("request_too_large", f"Form fields other than the photo may hold {allowed:.1f} MB at most.", 413), size
    except MultiPartParserError as exc:
        return ImageRejected("malformed_upload", f"The upload is not valid multipart form data: {exc}"), size
    return None, size


class BodyDeadline:
    """The whole upload body must arrive within NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS of the request reaching the app.

    Gunicorn reads a body on a blocking socket with no time limit (one read gathers bytes until it
    has the size asked for, so a socket timeout per receive would not bound it), and its worker
    timeout does not fire while a threads worker waits on a client: a client sending a byte now and
    then would hold a request thread as long as it likes. At the deadline a timer shuts the socket
    for reading, so the read in progress ends at once with what arrived; the answer can still be sent.
    Outside gunicorn (no ``gunicorn.socket``, as under the test client) there is no socket to bound.
    """

    def __init__(self, sock, seconds: float):
        self._sock = sock
        self.expired = False
        self._timer = threading.Timer(seconds, self._cut) if sock is not None else None

    @classmethod
    def start(cls, request) -> BodyDeadline:
        deadline = cls(request.META.get("gunicorn.socket"), settings.NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS)
        if deadline._timer is not None:
            deadline._timer.daemon = True
            deadline._timer.start()
        return deadline

    def _cut(self) -> None:
        self.expired = True
        try:
            self._sock.shutdown(socket.SHUT_RD)
        except OSError as exc:  # the client has gone already: the read in progress has ended by itself
            logger.debug("upload body deadline: the socket was already closed: %s", exc)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _declared_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _read_at_most(stream, limit: int) -> bytes | None:
    """The whole stream if it holds at most ``limit`` bytes, else None (having read just past the limit)."""
    buffer = io.BytesIO()
    while chunk := stream.read(min(_CHUNK_BYTES, limit + 1 - buffer.tell())):
        buffer.write(chunk)
        if buffer.tell() > limit:
            return None
    return buffer.getvalue()
