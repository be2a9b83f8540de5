"""The labelling queue page: unlabelled photos, the most valuable label first, labelled with the keyboard."""

from __future__ import annotations

from predictions.models import Food
from predictions.selectors import foods_by_key

from ..labelling.models import Label
from ..labelling.selectors import label_counts_by_source, labelling_queue

QUEUE_PAGE = 40


def labelling_context(*, skipped: frozenset[int] = frozenset()) -> dict:
    """The first QUEUE_PAGE queue items with their top answers named, the catalogue for the search, label counts."""
    counts = label_counts_by_source()
    items = labelling_queue(limit=QUEUE_PAGE, exclude_ids=skipped)
    names = foods_by_key(sorted({entry["food"] for item in items for entry in item.prediction.top_k}))
    cards = []
    for item in items:
        choices = [
            {
                "key": entry["food"],
                "name": names[entry["food"]].display_name if entry["food"] in names else entry["food"],
                "percent": 100 * float(entry.get("confidence") or 0.0),
            }
            for entry in item.prediction.top_k[:5]
        ]
        cards.append({"prediction": item.prediction, "value": item.value, "shadow": item.shadow, "choices": choices})
    return {
        "cards": cards,
        "catalogue": list(Food.objects.order_by("display_name").values("key", "display_name")),
        "label_counts": [(name, counts[value]) for value, name in Label.Source.choices],
        "skipped_count": len(skipped),
    }
