"""Server-rendered pages: upload, result with feedback, history. Views only translate HTTP."""

import math

from django.conf import settings
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from .forms import FeedbackForm
from .http import UploadEndpoint, owner_session_key, predict_from_request
from .images import ImageRejected
from .inference import ModelUnavailable
from .models import Prediction
from .selectors import foods_by_key, prediction_for_photo, prediction_get_for_owner, prediction_list_for_owner
from .services import FeedbackInvalid, prediction_feedback_set
from .throttling import PredictRateThrottle


@require_http_methods(["GET", "POST"])
def upload(request):
    if request.method == "GET":
        return render(request, "predictions/upload.html")
    throttle = PredictRateThrottle()
    if not throttle.allow_request(request, None):
        seconds = math.ceil(throttle.wait() or 1)
        message = f"You sent many photos in a short time. Please wait {seconds} seconds and try again."
        response = render(request, "predictions/upload.html", {"error": message}, status=429)
        response["Retry-After"] = str(seconds)
        return response
    try:
        prediction = predict_from_request(request, fields=("image", "camera"), source=Prediction.Source.WEB)
    except ImageRejected as exc:
        return _refusal_page(request, exc)
    except ModelUnavailable:
        message = "Recognition is not available right now. Please try again in a minute."
        return render(request, "predictions/upload.html", {"error": message}, status=503)
    return redirect("predictions:detail", prediction_id=prediction.pk)


def _refusal_page(request, refusal: ImageRejected):
    return render(request, "predictions/upload.html", {"error": refusal.message}, status=refusal.status)


upload.upload_endpoint = UploadEndpoint(source=Prediction.Source.WEB, respond=_refusal_page)


def _owned_or_404(request, prediction_id: int) -> Prediction:
    prediction = prediction_get_for_owner(prediction_id=prediction_id, user=request.user, session_key=owner_session_key(request))
    if prediction is None:
        raise Http404("No such prediction of yours.")
    return prediction


def detail(request, prediction_id: int, form: FeedbackForm | None = None, status: int = 200):
    prediction = _owned_or_404(request, prediction_id)
    names = foods_by_key([item["food"] for item in prediction.top_k])
    alternatives = [
        {"food": names.get(item["food"]), "key": item["food"], "percent": item["confidence"] * 100} for item in prediction.top_k
    ]
    picked = prediction.true_food_key
    choices = [
        {
            "food": names.get(choice["food"]),
            "key": choice["food"],
            "percent": choice["confidence"] * 100,
            "correct": "yes" if choice["correct"] else "no",
            "picked": choice["food"] == picked,
        }
        for choice in prediction.confirmation_choices
    ]
    if form is None:
        initial = {}
        # An answer picked with a choice button is shown on that button, not again under "Something else?".
        if prediction.has_feedback and not any(choice["picked"] for choice in choices):
            initial = {
                "correct": "yes" if prediction.feedback_correct else "no",
                "food": prediction.feedback_food.key if prediction.feedback_food else None,
                "food_text": prediction.feedback_text,
            }
        form = FeedbackForm(initial=initial)
    context = {"prediction": prediction, "alternatives": alternatives, "choices": choices, "form": form}
    return render(request, "predictions/detail.html", context, status=status)


@require_POST
def feedback(request, prediction_id: int):
    prediction = _owned_or_404(request, prediction_id)
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return detail(request, prediction_id, form=form, status=400)
    food = form.cleaned_data["food"]
    try:
        prediction_feedback_set(
            prediction=prediction,
            correct=form.cleaned_data["correct"],
            food_key=food.key if food else "",
            food_text=form.cleaned_data["food_text"],
        )
    except FeedbackInvalid as exc:
        form.add_error(None, str(exc))
        return detail(request, prediction_id, form=form, status=400)
    return redirect("predictions:detail", prediction_id=prediction.pk)


def history(request):
    predictions = prediction_list_for_owner(user=request.user, session_key=owner_session_key(request))
    page = Paginator(predictions, 24).get_page(request.GET.get("page"))
    return render(request, "predictions/history.html", {"page": page})


@require_safe
def photo(request, path: str):
    """A stored photo, for its owner and staff only (personal data), always as image/jpeg.

    With ``NUTRILEARN_MEDIA_ACCEL_REDIRECT`` set, the web server sends the bytes (X-Accel-Redirect).
    """
    prediction = prediction_for_photo(path=path, user=request.user, session_key=request.session.session_key)
    if prediction is None:
        raise Http404("No such photo of yours.")
    if settings.NUTRILEARN_MEDIA_ACCEL_REDIRECT:
        response = HttpResponse(content_type="image/jpeg")
        response["X-Accel-Redirect"] = settings.NUTRILEARN_MEDIA_ACCEL_REDIRECT.rstrip("/") + "/" + prediction.image.name
    else:
        try:
            response = FileResponse(prediction.image.open("rb"), content_type="image/jpeg")
        except FileNotFoundError:
            raise Http404("The photo file is missing.") from None
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    return response
