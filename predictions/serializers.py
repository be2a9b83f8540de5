from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from .models import Food, Prediction


class NutritionSerializer(serializers.Serializer):
    per_grams = serializers.IntegerField()
    energy_kcal = serializers.FloatField()
    protein_g = serializers.FloatField()
    carbohydrate_g = serializers.FloatField()
    fat_g = serializers.FloatField()
    fibre_g = serializers.FloatField()
    source = serializers.CharField()
    fdc_id = serializers.IntegerField(allow_null=True)


class FoodSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name")
    nutrition = serializers.SerializerMethodField()

    class Meta:
        model = Food
        fields = ["key", "name", "nutrition"]

    @extend_schema_field(NutritionSerializer(allow_null=True))
    def get_nutrition(self, food: Food):
        return food.nutrition()


class FoodBriefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name")

    class Meta:
        model = Food
        fields = ["key", "name"]


TopKItem = inline_serializer(
    "TopKItem", {"food": serializers.CharField(), "name": serializers.CharField(), "confidence": serializers.FloatField()}, many=True
)
ModelInfo = inline_serializer(
    "ModelInfo", {"name": serializers.CharField(), "version": serializers.CharField(), "sha256": serializers.CharField()}
)
ImageInfo = inline_serializer(
    "ImageInfo",
    {
        "url": serializers.CharField(allow_null=True),
        "width": serializers.IntegerField(),
        "height": serializers.IntegerField(),
        "format": serializers.CharField(),
    },
)
FeedbackInfo = inline_serializer(
    "FeedbackInfo",
    {
        "correct": serializers.BooleanField(),
        "food": serializers.CharField(allow_null=True),
        "food_text": serializers.CharField(),
        "at": serializers.DateTimeField(),
        "nutrition": NutritionSerializer(allow_null=True, help_text="Of the catalogue food the user named (or confirmed)."),
    },
    allow_null=True,
)
ChoiceItem = inline_serializer(
    "ConfirmationChoice",
    {
        "food": serializers.CharField(),
        "name": serializers.CharField(),
        "confidence": serializers.FloatField(),
        "feedback": inline_serializer(
            "ChoiceFeedback",
            {"correct": serializers.BooleanField(), "food": serializers.CharField(required=False)},
            help_text="The body to POST to this prediction's feedback URL when the user picks this choice.",
        ),
    },
    many=True,
)


class PredictionSerializer(serializers.ModelSerializer):
    """A prediction as the predict and feedback endpoints return it."""

    food = FoodBriefSerializer(allow_null=True)
    confidence_band = serializers.CharField(allow_null=True)
    needs_confirmation = serializers.BooleanField(
        read_only=True,
        help_text=(
            "True when the model named a food with low confidence (< 80 %) and the user has not answered yet: "
            "show `choices` and ask, do not present `food` and `nutrition` as the result. "
            "Never true for a no-food answer."
        ),
    )
    choices = serializers.SerializerMethodField()
    top_k = serializers.SerializerMethodField()
    nutrition = serializers.SerializerMethodField()
    model = serializers.SerializerMethodField()
    image = serializers.SerializerMethodField()
    feedback = serializers.SerializerMethodField()

    class Meta:
        model = Prediction
        fields = [
            "id",
            "created_at",
            "food",
            "no_food",
            "confidence",
            "confidence_band",
            "needs_confirmation",
            "choices",
            "top_k",
            "nutrition",
            "model",
            "processing_time_seconds",
            "image",
            "quality_hints",
            "feedback",
        ]

    @extend_schema_field(TopKItem)
    def get_top_k(self, prediction: Prediction):
        names = self.context.get("food_names", {})
        return [
            {"food": item["food"], "name": names.get(item["food"], item["food"]), "confidence": item["confidence"]}
            for item in prediction.top_k
        ]

    @extend_schema_field(ChoiceItem)
    def get_choices(self, prediction: Prediction):
        """An unsure answer's top foods as one-tap choices (empty for confident and no-food answers)."""
        names = self.context.get("food_names", {})
        return [
            {
                "food": choice["food"],
                "name": names.get(choice["food"], choice["food"]),
                "confidence": choice["confidence"],
                "feedback": {"correct": True} if choice["correct"] else {"correct": False, "food": choice["food"]},
            }
            for choice in prediction.confirmation_choices
        ]

    @extend_schema_field(NutritionSerializer(allow_null=True))
    def get_nutrition(self, prediction: Prediction):
        return prediction.food.nutrition() if prediction.food else None

    @extend_schema_field(ModelInfo)
    def get_model(self, prediction: Prediction):
        return {"name": prediction.model_name, "version": prediction.model_version, "sha256": prediction.model_sha256}

    @extend_schema_field(ImageInfo)
    def get_image(self, prediction: Prediction):
        request = self.context.get("request")
        url = prediction.image.url if prediction.image else None
        if url and request is not None:
            url = request.build_absolute_uri(url)
        return {"url": url, "width": prediction.image_width, "height": prediction.image_height, "format": prediction.image_format}

    @extend_schema_field(FeedbackInfo)
    def get_feedback(self, prediction: Prediction):
        if not prediction.has_feedback:
            return None
        return {
            "correct": prediction.feedback_correct,
            "food": prediction.feedback_food.key if prediction.feedback_food else None,
            "food_text": prediction.feedback_text,
            "at": prediction.feedback_at,
            "nutrition": prediction.confirmed_food.nutrition() if prediction.confirmed_food else None,
        }


class PredictRequestSerializer(serializers.Serializer):
    image = serializers.ImageField(
        help_text="One meal photo: JPEG, PNG or WebP (animated PNG and WebP: the first frame; GIF is refused), at most 10 MB, "
        "each side 32 to 12,000 pixels, at most 8:1, at most 40 million pixels (the server's defaults)."
    )


class FeedbackRequestSerializer(serializers.Serializer):
    correct = serializers.BooleanField(help_text="True confirms the prediction.")
    food = serializers.CharField(required=False, allow_blank=True, help_text="Catalogue key of the right food.")
    food_text = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="The right food, when the catalogue lacks it."
    )


FoodsEnvelope = inline_serializer("FoodsEnvelope", {"status": serializers.CharField(default="success"), "foods": FoodSerializer(many=True)})
PredictionEnvelope = inline_serializer(
    "PredictionEnvelope", {"status": serializers.CharField(default="success"), "prediction": PredictionSerializer()}
)
