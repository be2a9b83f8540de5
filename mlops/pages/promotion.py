"""The promotion parts of the Models page: who serves which version, the audit trail, and the confirmation pages' contents.

Reads only; the changes go through ``mlops.lifecycle.promotion`` (see ``promotion_views``).
"""

from __future__ import annotations

from django.conf import settings

from ..lifecycle.evidence import promotion_evidence
from ..lifecycle.promotion import PERMISSION, can_promote
from ..lifecycle.serving_processes import serving_processes_list
from ..mlflow_store import registry
from ..mlflow_store.registry import CHAMPION, PREVIOUS_CHAMPION_TAG
from ..models import PromotionRecord

RECENT_RECORDS = 10


def promotion_panel(*, user, aliases: dict, versions: list[dict]) -> dict:
    """The Models page's "Promote / roll back" section: candidates, serving processes, the latest audit rows."""
    champion = aliases.get(CHAMPION)
    return {
        "champion": champion,
        "can_promote": can_promote(user),
        "permission": PERMISSION,
        "candidates": [entry["model_version"] for entry in versions if entry.get("registered") and entry["model_version"] != champion],
        "processes": serving_processes_list(champion=champion),
        "poll_seconds": settings.NUTRILEARN_MODEL_POLL_SECONDS,
        "records": list(PromotionRecord.objects.all()[:RECENT_RECORDS]),
    }


def promote_confirmation(*, version: str) -> dict:
    """What the promote confirmation shows: the champion now and the guardrail's verdict on ``version``.

    Raises MlflowNotFound for an unknown version, MlflowUnavailable / MlflowRejected when the registry cannot answer.
    """
    registry.version_get(version)
    champion = registry.aliases_get().get(CHAMPION)
    return {"version": version, "champion": champion, "evidence": promotion_evidence(version=version, champion=champion)}


def rollback_confirmation() -> dict:
    """What the rollback confirmation shows: from which champion back to which version (None: nothing to roll back to)."""
    champion = registry.aliases_get().get(CHAMPION)
    target = registry.registered_model_tag_get(PREVIOUS_CHAMPION_TAG)
    if not target or target == champion:
        return {"champion": champion, "target": None, "evidence": None}
    return {"champion": champion, "target": target, "evidence": promotion_evidence(version=target, champion=champion)}
