"""JSON API: POST /api/v1/predict and the owner's predictions and feedback."""

import logging

from django.http import JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from nutrilearn.api_errors import AUTHENTICATION_FAILED, PERMISSION_DENIED, error_response

from .http import UploadEndpoint, owner_session_key, predict_from_request
from .images import ImageRejected
from .inference import ModelUnavailable
from .models import Prediction
from .selectors import food_list, foods_by_key, prediction_get_for_owner
from .serializers import (
    FeedbackRequestSerializer,
    FoodsEnvelope,
    FoodSerializer,
    PredictionEnvelope,
    PredictionSerializer,
    PredictRequestSerializer,
)
from .services import FeedbackInvalid, prediction_feedback_set
from .throttling import PredictRateThrottle

logger = logging.getLogger(__name__)

BAD_TOKEN = {401: error_response("BadTokenError", AUTHENTICATION_FAILED)}
NOT_YOURS = {404: error_response("NotFoundError", {"not_found": "no prediction of yours has this id (ids are whole numbers)"})}


def error_body(code: str, message: str, http_status: int) -> Response:
    return Response({"status": "error", "error": {"code": code, "message": message}}, status=http_status)


def refusal_json(request, refusal: ImageRejected) -> JsonResponse:
    """A refusal made before the view runs (see predictions.http.UploadGuardMiddleware), in the API's error format."""
    body = {"status": "error", "error": {"code": refusal.code, "message": refusal.message}}
    return JsonResponse(body, status=refusal.status)


def prediction_response(request, prediction: Prediction, http_status: int = status.HTTP_200_OK) -> Response:
    names = {key: food.display_name for key, food in foods_by_key([item["food"] for item in prediction.top_k]).items()}
    data = PredictionSerializer(prediction, context={"request": request, "food_names": names}).data
    return Response({"status": "success", "prediction": data}, status=http_status)


class PredictView(APIView):
    """Recognise the food in one meal photo."""

    permission_classes = [AllowAny]
    throttle_classes = [PredictRateThrottle]
    parser_classes = [MultiPartParser, FormParser]
    upload_endpoint = UploadEndpoint(source=Prediction.Source.API, respond=refusal_json)

    @extend_schema(
        request={"multipart/form-data": PredictRequestSerializer},
        responses={
            201: PredictionEnvelope,
            400: error_response(
                "PredictBadRequestError",
                {
                    "empty_file": "the file is empty",
                    "not_an_image": "the bytes are not an image",
                    "corrupt_image": "the image data is damaged or truncated",
                    "bad_dimensions": "a side is under 32 or over 12,000 pixels (NUTRILEARN_MIN_SIDE, _MAX_SIDE), "
                    "or the photo is longer than 8:1 (a 1x1 PNG is refused here)",
                    "no_file": "no photo in the field image",
                    "too_many_files": "more than one file in the request",
                    "too_many_fields": "more form fields than Django accepts",
                    "malformed_upload": "the body is not valid multipart form data",
                    "parse_error": "the body cannot be parsed",
                    "incomplete_upload": "the connection failed before the whole body arrived",
                },
            ),
            **BAD_TOKEN,
            403: error_response("PredictForbiddenError", PERMISSION_DENIED),
            408: error_response(
                "PredictTimeoutError",
                {"request_timeout": "the body did not arrive within NUTRILEARN_UPLOAD_BODY_TIMEOUT_SECONDS (30) of the request"},
            ),
            411: error_response("PredictLengthRequiredError", {"length_required": "a chunked body the server cannot delimit"}),
            413: error_response(
                "PredictTooLargeError",
                {
                    "file_too_large": "the photo (or the declared body) is over NUTRILEARN_MAX_UPLOAD_BYTES, 10 MB by default",
                    "too_many_pixels": "more pixels than NUTRILEARN_MAX_PIXELS (40 million) or Pillow's decompression-bomb limit",
                    "request_too_large": "form fields other than the photo hold more than 2.5 MB",
                },
            ),
            415: error_response(
                "PredictUnsupportedError",
                {
                    "unsupported_format": "an image format other than JPEG, PNG or WebP (a GIF is refused here)",
                    "unsupported_media_type": "the body is not multipart/form-data",
                },
            ),
            429: error_response(
                "PredictThrottledError",
                {"throttled": "more uploads from this client than NUTRILEARN_PREDICT_RATE allows (30 a minute); see Retry-After"},
            ),
            503: error_response("PredictUnavailableError", {"model_unavailable": "no model can serve right now"}),
        },
        summary="Recognise a meal photo",
    )
    def post(self, request):
        try:
            prediction = predict_from_request(request, fields=("image",), source=Prediction.Source.API)
        except ImageRejected as exc:
            return error_body(exc.code, exc.message, exc.status)
        except ModelUnavailable as exc:
            logger.warning("predict: no model can serve: %s", exc)  # the reason is for operators, not clients
            message = "The recognition model is not available right now. Please try again in a minute."
            return error_body("model_unavailable", message, 503)
        return prediction_response(request, prediction, status.HTTP_201_CREATED)


class PredictionDetailView(APIView):
    """One of your own predictions."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: PredictionEnvelope, **BAD_TOKEN, **NOT_YOURS}, summary="Get one of your predictions")
    def get(self, request, prediction_id: int):
        prediction = prediction_get_for_owner(prediction_id=prediction_id, user=request.user, session_key=owner_session_key(request))
        if prediction is None:
            return error_body("not_found", "No such prediction of yours.", 404)
        return prediction_response(request, prediction)


class FeedbackView(APIView):
    """Say whether a prediction was right, or what the right food is. Editable by its owner."""

    permission_classes = [AllowAny]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request=FeedbackRequestSerializer,
        responses={
            200: PredictionEnvelope,
            400: error_response(
                "FeedbackBadRequestError",
                {
                    "invalid": "a field is missing or malformed (see error.fields)",
                    "invalid_feedback": "unknown food, no food given for a wrong prediction, or a refused prediction",
                    "parse_error": "the body is not valid JSON",
                },
            ),
            **BAD_TOKEN,
            403: error_response("FeedbackForbiddenError", PERMISSION_DENIED),
            **NOT_YOURS,
            415: error_response("FeedbackUnsupportedError", {"unsupported_media_type": "the body is not JSON or a form"}),
        },
        summary="Give feedback",
    )
    def post(self, request, prediction_id: int):
        prediction = prediction_get_for_owner(prediction_id=prediction_id, user=request.user, session_key=owner_session_key(request))
        if prediction is None:
            return error_body("not_found", "No such prediction of yours.", 404)
        serializer = FeedbackRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            prediction_feedback_set(
                prediction=prediction,
                correct=serializer.validated_data["correct"],
                food_key=serializer.validated_data.get("food", ""),
                food_text=serializer.validated_data.get("food_text", ""),
            )
        except FeedbackInvalid as exc:
            return error_body("invalid_feedback", str(exc), 400)
        return prediction_response(request, prediction)


class FoodListView(APIView):
    """The food catalogue with nutrition facts per 100 g."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: FoodsEnvelope, **BAD_TOKEN}, summary="List the food catalogue")
    def get(self, request):
        return Response({"status": "success", "foods": FoodSerializer(food_list(), many=True).data})
