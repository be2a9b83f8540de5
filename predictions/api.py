"""JSON API: POST /api/v1/predict and the owner's predictions and feedback."""

from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .http import UploadEndpoint, owner_session_key, predict_from_request
from .images import ImageRejected
from .inference import ModelUnavailable
from .models import Prediction
from .selectors import food_list, foods_by_key, prediction_get_for_owner
from .serializers import (
    ErrorEnvelope,
    FeedbackRequestSerializer,
    FoodSerializer,
    PredictionEnvelope,
    PredictionSerializer,
    PredictRequestSerializer,
)
from .services import FeedbackInvalid, prediction_feedback_set


def error_response(code: str, message: str, http_status: int) -> Response:
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
    parser_classes = [MultiPartParser, FormParser]
    upload_endpoint = UploadEndpoint(source=Prediction.Source.API, respond=refusal_json)

    @extend_schema(
        request={"multipart/form-data": PredictRequestSerializer},
        responses={
            201: PredictionEnvelope,
            400: OpenApiResponse(ErrorEnvelope, description="Bad input: empty, not an image, truncated, odd dimensions, several files."),
            413: OpenApiResponse(ErrorEnvelope, description="File or pixel count over the limit."),
            415: OpenApiResponse(ErrorEnvelope, description="Format outside JPEG, PNG, WebP."),
            503: OpenApiResponse(ErrorEnvelope, description="No model can serve right now."),
        },
        summary="Recognise a meal photo",
    )
    def post(self, request):
        try:
            prediction = predict_from_request(request, fields=("image",), source=Prediction.Source.API)
        except ImageRejected as exc:
            return error_response(exc.code, exc.message, exc.status)
        except ModelUnavailable as exc:
            return error_response("model_unavailable", f"The recognition model is not available: {exc}", 503)
        return prediction_response(request, prediction, status.HTTP_201_CREATED)


class PredictionDetailView(APIView):
    """One of your own predictions."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: PredictionEnvelope, 404: ErrorEnvelope}, summary="Get one of your predictions")
    def get(self, request, prediction_id: int):
        prediction = prediction_get_for_owner(prediction_id=prediction_id, user=request.user, session_key=owner_session_key(request))
        if prediction is None:
            return error_response("not_found", "No such prediction of yours.", 404)
        return prediction_response(request, prediction)


class FeedbackView(APIView):
    """Say whether a prediction was right, or what the right food is. Editable by its owner."""

    permission_classes = [AllowAny]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request=FeedbackRequestSerializer,
        responses={200: PredictionEnvelope, 400: ErrorEnvelope, 404: ErrorEnvelope},
        summary="Give feedback",
    )
    def post(self, request, prediction_id: int):
        prediction = prediction_get_for_owner(prediction_id=prediction_id, user=request.user, session_key=owner_session_key(request))
        if prediction is None:
            return error_response("not_found", "No such prediction of yours.", 404)
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
            return error_response("invalid_feedback", str(exc), 400)
        return prediction_response(request, prediction)


class FoodListView(APIView):
    """The food catalogue with nutrition facts per 100 g."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: FoodSerializer(many=True)}, summary="List the food catalogue")
    def get(self, request):
        return Response({"status": "success", "foods": FoodSerializer(food_list(), many=True).data})
