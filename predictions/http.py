"""Request plumbing shared by the web form and the JSON API."""

from __future__ import annotations

import logging
import time

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
