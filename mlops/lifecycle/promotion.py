"""Promoting a version to champion and rolling back, by a person (pages, API) or the CLI, each with an audit row.

Every path goes through ``model_version_promote`` / ``model_version_rollback``: the caller's
permission (``mlops.promote_model``; the CLI acts as "cli"), a written reason, the guardrail
(``evidence.promotion_evidence``), and a load and smoke test of the target here, which no override
skips. The alias moves inside the transaction that writes the PromotionRecord, so a registry that
refuses leaves no record behind; serving processes follow within NUTRILEARN_MODEL_POLL_SECONDS.
"""

from __future__ import annotations

from django.db import transaction

from predictions.inference import ModelUnavailable

from ..mlflow_store import registry
from ..mlflow_store.registry import CHAMPION, PREVIOUS_CHAMPION_TAG
from ..models import PromotionRecord
from ..services import PromotionRefused, model_promote, model_rollback
from .evidence import PromotionEvidence, promotion_evidence

PERMISSION = "mlops.promote_model"
CLI_ACTOR = "cli"


class PromotionForbidden(PromotionRefused):
    """The user lacks the permission to move the champion."""


class ReasonMissing(PromotionRefused):
    """No written reason was given."""


class ChampionChanged(PromotionRefused):
    """The champion moved since the caller looked (someone else promoted or rolled back)."""


class VersionUnloadable(PromotionRefused):
    """The version does not load or fails its smoke test here: never promotable, no override."""


class GuardrailRefused(PromotionRefused):
    """The guardrail refused; promoting anyway needs ``override`` and the reason is recorded."""

    def __init__(self, evidence: PromotionEvidence):
        super().__init__(f"{evidence.message} Promote anyway only with an override and a written reason.")
        self.evidence = evidence


def can_promote(user) -> bool:
    """Whether a user may promote and roll back (the explicit permission; superusers have every permission)."""
    return bool(user and user.is_active and user.is_staff and user.has_perm(PERMISSION))


def _checked(*, actor, reason: str) -> str:
    if actor is not None and not can_promote(actor):
        raise PromotionForbidden(f"Moving the champion needs the permission {PERMISSION!r}; an administrator grants it in the admin.")
    reason = (reason or "").strip()
    if not reason:
        raise ReasonMissing("Give a reason: it is recorded with the change.")
    return reason


def _champion_now(expected_champion: str | None) -> str | None:
    current = registry.aliases_get().get(CHAMPION)
    if expected_champion is not None and expected_champion != (current or ""):
        raise ChampionChanged(
            f"The champion is now version {current or 'none'}, not {expected_champion or 'none'} as when you looked: check again."
        )
    return current


def _load_check(version: str) -> None:
    ref = registry.version_get(version)
    try:
        registry.classifier_load(ref).smoke_test()
    except ModelUnavailable as exc:
        raise VersionUnloadable(f"Version {version} does not load or fails its smoke test: {exc}. It cannot be promoted.") from exc


def _record(
    *, kind: str, actor, actor_name: str, reason: str, from_version: str | None, to_version: str, evidence: dict
) -> PromotionRecord:
    return PromotionRecord.objects.create(
        kind=kind,
        actor=actor,
        actor_name=actor.get_username() if actor is not None else actor_name,
        model_name=registry.model_name(),
        from_version=from_version or "",
        to_version=to_version,
        reason=reason,
        evidence=evidence,
    )


def model_version_promote(
    *,
    version: str,
    actor,
    reason: str,
    override: bool = False,
    expected_champion: str | None = None,
    actor_name: str = CLI_ACTOR,
) -> PromotionRecord:
    """Make ``version`` the champion if the guardrail passes (or ``override``) and it loads and passes its smoke test here.

    ``actor`` None is a process, named by ``actor_name`` (the CLI, or the retraining task).
    ``expected_champion`` (the champion the caller saw; "" for none) guards
    against a concurrent move. Raises a PromotionRefused subclass saying why, or MlflowNotFound/Unavailable.
    """
    reason = _checked(actor=actor, reason=reason)
    champion = _champion_now(expected_champion)
    registry.version_get(version)  # MlflowNotFound for an unknown version, before anything else
    if champion == version:
        raise PromotionRefused(f"Version {version} already is the champion.")
    evidence = promotion_evidence(version=version, champion=champion)
    if not evidence.promotable and not override:
        raise GuardrailRefused(evidence)
    _load_check(version)
    kind = PromotionRecord.Kind.PROMOTE if evidence.promotable else PromotionRecord.Kind.OVERRIDE
    snapshot = {**evidence.snapshot(), "load_check": "passed", "overridden": not evidence.promotable}
    with transaction.atomic():
        record = _record(
            kind=kind, actor=actor, actor_name=actor_name, reason=reason, from_version=champion, to_version=version, evidence=snapshot
        )
        model_promote(version=version, check=False)  # loaded and smoke-tested above
    return record


def model_version_rollback(*, actor, reason: str, expected_champion: str | None = None) -> PromotionRecord:
    """Move the champion back to the version it replaced last, after that version loads and passes its smoke test here.

    No guardrail (rolling back is the way out of a bad promotion); the evidence of the comparison
    is still recorded. Raises a PromotionRefused subclass saying why.
    """
    reason = _checked(actor=actor, reason=reason)
    champion = _champion_now(expected_champion)
    target = registry.registered_model_tag_get(PREVIOUS_CHAMPION_TAG)
    if not target or target == champion:
        raise PromotionRefused("No earlier champion is recorded to roll back to.")
    evidence = promotion_evidence(version=target, champion=champion)
    _load_check(target)
    snapshot = {**evidence.snapshot(), "load_check": "passed", "overridden": False}
    with transaction.atomic():
        record = _record(
            kind=PromotionRecord.Kind.ROLLBACK,
            actor=actor,
            actor_name=CLI_ACTOR,
            reason=reason,
            from_version=champion,
            to_version=target,
            evidence=snapshot,
        )
        model_rollback()
    return record
