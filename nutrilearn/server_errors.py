"""What a request that failed on the server answers: 503 when the database is unavailable, 500 otherwise.

JSON in the API's error envelope under /api/, a plain page elsewhere. Installed as ``handler500``, so it
also covers failures in middleware (a session that cannot be saved while the database is down). The
pages are rendered without the request context: that would read the session from the database again.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def server_error(request):
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_UNAVAILABLE):
        status, code = 503, "database_unavailable"
        message = "The service cannot store anything right now. Nothing was saved; please try again in a minute."
    else:
        status, code = 500, "internal_error"
        message = "Something went wrong on our side. The error was logged; please try again."
    if request.path.startswith("/api/"):
        response = JsonResponse({"status": "error", "error": {"code": code, "message": message}}, status=status)
    else:
        response = HttpResponse(render_to_string("server_error.html", {"status": status, "message": message}), status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
