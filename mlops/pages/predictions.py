"""The Predictions page (a filtered table, 50 rows a page, keyset-paginated) and one prediction's detail page."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet

from predictions.models import CONFIDENCE_BANDS, FEEDBACK_STATES, Food, Prediction
from predictions.selectors import foods_by_key

from .. import mlflow_store, selectors
from .filters import FilterInvalid, PageFilters

PAGE_SIZE = 50
NO_FOOD_CHOICES = {"yes": Q(no_food=True), "no": Q(no_food=False)}
STATUS_CHOICES = {status.value: status.label for status in Prediction.Status}


@dataclass(frozen=True)
class ListFilters:
    """The table's own filters (besides the page window): each empty when not chosen."""

    food: str = ""
    band: str = ""
    feedback: str = ""
    no_food: str = ""
    status: str = ""

    def params(self) -> dict[str, str]:
        return {name: value for name, value in vars(self).items() if value}


def _choice(params, name: str, choices) -> str:
    value = (params.get(name) or "").strip()
    if value and value not in choices:
        raise FilterInvalid(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def list_filters_parse(params) -> ListFilters:
    food = (params.get("food") or "").strip()
    if food and not Food.objects.filter(key=food).exists():
        raise FilterInvalid(f"There is no food {food!r} in the catalogue.")
    return ListFilters(
        food=food,
        band=_choice(params, "band", CONFIDENCE_BANDS),
        feedback=_choice(params, "feedback", FEEDBACK_STATES),
        no_food=_choice(params, "no_food", NO_FOOD_CHOICES),
        status=_choice(params, "status", STATUS_CHOICES),
    )


def prediction_rows(filters: PageFilters, chosen: ListFilters) -> QuerySet[Prediction]:
    """Predictions in the page window that pass the table's filters, unordered."""
    rows = selectors.predictions_in_window(**filters.window())
    if chosen.food:
        rows = rows.filter(food__key=chosen.food)
    if chosen.band:
        rows = rows.filter(CONFIDENCE_BANDS[chosen.band][1])
    if chosen.feedback:
        rows = rows.filter(FEEDBACK_STATES[chosen.feedback][1])
    if chosen.no_food:
        rows = rows.filter(NO_FOOD_CHOICES[chosen.no_food])
    if chosen.status:
        rows = rows.filter(status=chosen.status)
    return rows


def _older_than(prediction: Prediction) -> Q:
    return Q(created_at__lt=prediction.created_at) | Q(created_at=prediction.created_at, id__lt=prediction.pk)


def _newer_than(prediction: Prediction) -> Q:
    return Q(created_at__gt=prediction.created_at) | Q(created_at=prediction.created_at, id__gt=prediction.pk)


def _anchor(params, name: str) -> Prediction | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise FilterInvalid(f"{name} must be a prediction id, not {text!r}.")
    anchor = Prediction.objects.filter(pk=int(text)).only("id", "created_at").first()
    if anchor is None:
        raise FilterInvalid(f"Prediction {text} no longer exists: start again from the newest page.")
    return anchor


def prediction_page(filters: PageFilters, chosen: ListFilters, *, after: Prediction | None, before: Prediction | None) -> dict:
    """One page of rows, newest first, by keyset: ``after`` = the rows older than that prediction, ``before`` = newer ones.

    Each page is an index range read of at most PAGE_SIZE rows however deep it is; whether there are older and
    newer rows is asked with one EXISTS each.
    """
    rows = prediction_rows(filters, chosen)
    listed = rows.select_related("food", "feedback_food")
    if before is not None:
        page = list(reversed(listed.filter(_newer_than(before)).order_by("created_at", "id")[:PAGE_SIZE]))
    else:
        older = listed.filter(_older_than(after)) if after is not None else listed
        page = list(older.order_by("-created_at", "-id")[:PAGE_SIZE])
    has_newer = bool(page) and rows.filter(_newer_than(page[0])).exists()
    has_older = bool(page) and rows.filter(_older_than(page[-1])).exists()
    return {"rows": page, "newer_cursor": page[0].pk if has_newer else None, "older_cursor": page[-1].pk if has_older else None}


def prediction_list_context(filters: PageFilters, params) -> dict:
    chosen = list_filters_parse(params)
    after, before = _anchor(params, "after"), _anchor(params, "before")
    if after is not None and before is not None:
        raise FilterInvalid("Give after or before, not both.")
    page = prediction_page(filters, chosen, after=after, before=before)
    return {
        **page,
        "chosen": chosen,
        "list_query": filters.query(**chosen.params()),
        "foods": list(Food.objects.order_by("display_name").values_list("key", "display_name")),
        "bands": {key: label for key, (label, _) in CONFIDENCE_BANDS.items()},
        "feedback_states": {key: label for key, (label, _) in FEEDBACK_STATES.items()},
        "statuses": STATUS_CHOICES,
        "first_page": after is None and before is None,
    }


def mirror_state(prediction: Prediction) -> dict:
    """Where the prediction stands in the MLflow mirror, as the admin's filter names it."""
    if prediction.status != Prediction.Status.OK:
        return {"state": "not mirrored", "detail": "Only successful predictions are mirrored into MLflow."}
    if prediction.mirrored_at is not None:
        return {"state": "mirrored", "detail": f"in run {prediction.mlflow_run_id} at step {prediction.mlflow_step}"}
    if prediction.mirror_attempts >= settings.NUTRILEARN_MIRROR_MAX_ATTEMPTS:
        return {"state": "given up", "detail": f"after {prediction.mirror_attempts} attempts: {prediction.mirror_error}"}
    if prediction.mirror_error:
        return {"state": "failing, retried", "detail": f"attempt {prediction.mirror_attempts}: {prediction.mirror_error}"}
    return {"state": "pending", "detail": "waiting for the next mirror batch"}


def prediction_detail_context(prediction: Prediction) -> dict:
    names = foods_by_key([item["food"] for item in prediction.top_k])
    top = [
        {
            "key": item["food"],
            "name": names[item["food"]].display_name if item["food"] in names else item["food"],
            "percent": item["confidence"] * 100,
        }
        for item in prediction.top_k
    ]
    return {
        "prediction": prediction,
        "top": top,
        "mirror": mirror_state(prediction),
        "mlflow_run_url": mlflow_store.run_ui_url(prediction.mlflow_run_id) if prediction.mlflow_run_id else None,
    }
