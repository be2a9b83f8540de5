"""What every monitoring viewset shares: staff only (the project default), the query validated by a
serializer, and the {"status": "success", ...} envelope around the answer."""

from __future__ import annotations

from django.http import QueryDict
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ..serializers import WindowQuery

TAG = ["mlops"]


def success(**body) -> Response:
    return Response({"status": "success", **body})


def refuse_empty_values(values, serializer_class) -> None:
    """A known parameter sent with no value is a 400, as the schema promises, not "absent" (DRF's reading of form data)."""
    if not isinstance(values, QueryDict):
        return  # JSON: the serializer refuses "" and null itself
    known = serializer_class().fields
    empty = sorted(key for key, items in values.lists() if key in known and "" in items)
    if empty:
        raise ValidationError({key: ["Give a value, or leave the parameter out."] for key in empty})


def query_validate(request, query_class: type = WindowQuery) -> dict:
    """The request's query parameters validated by ``query_class``; the window bounds and model version default to None."""
    refuse_empty_values(request.query_params, query_class)
    serializer = query_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    values = dict(serializer.validated_data)
    values.setdefault("start", None)
    values.setdefault("end", None)
    values.setdefault("model_version", None)
    return values


def window(values: dict) -> dict:
    """The time window and model version of validated query values, as the selectors take them."""
    return {"start": values["start"], "end": values["end"], "model_version": values["model_version"]}
