"""Builders for the promotion tests: two registered versions, dataset evaluations with per-image results, promoters."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from mlops.lifecycle.guardrail import evaluation_set_key
from mlops.models import Evaluation
from mlops.services import bundled_model_register
from tests.support.registry import register_variant


def versions_register(folder: Path, state_dict: dict, *, also: dict | None = None) -> list[str]:
    """Version 1 (the bundled model, champion) and version 2 (``state_dict``); ``also``: more versions by name -> state_dict."""
    bundled_model_register()
    versions = ["1", register_variant(folder / "v2", state_dict, aliases=("challenger",)).version]
    for name, extra in (also or {}).items():
        versions.append(register_variant(folder / name, extra).version)
    return versions


def evaluation_make(*, version: str, right: int, wrong: int, images: int | None = None, tta: bool = True, first_right: bool = True):
    """A dataset Evaluation of ``version`` on images img0..img(n-1): the first ``right`` (or the last, ``first_right=False``) right."""
    total = images if images is not None else right + wrong
    order = list(range(total)) if first_right else list(reversed(range(total)))
    correct = set(order[:right])
    per_image = {f"test/food/img{index}.jpg#{index:064x}": index in correct for index in range(total)}
    return Evaluation.objects.create(
        model_name="food-classifier",
        model_version=version,
        source=Evaluation.Source.DATASET,
        accuracy=right / total,
        precision=right / total,
        recall=right / total,
        f1_score=right / total,
        sample_count=total,
        details={"dataset": "held-out", "tta": tta, "per_image": per_image, "evaluation_set": evaluation_set_key(per_image)},
    )


def promoter_make(username: str = "promoter", *, staff: bool = True):
    """A staff user holding mlops.promote_model."""
    user = get_user_model().objects.create_user(username, password="x", is_staff=staff)
    user.user_permissions.add(Permission.objects.get(codename="promote_model", content_type__app_label="mlops"))
    return get_user_model().objects.get(pk=user.pk)  # fresh: the permission cache is filled on first use
