from django import forms

from .models import Food


class FeedbackForm(forms.Form):
    correct = forms.TypedChoiceField(
        choices=[("yes", "Yes, that's right"), ("no", "No")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    food = forms.ModelChoiceField(
        queryset=Food.objects.order_by("display_name"), to_field_name="key", required=False, empty_label="— pick the right food —"
    )
    food_text = forms.CharField(max_length=100, required=False, label="or type it")
