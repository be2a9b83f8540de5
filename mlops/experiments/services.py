"""Writes of A/B tests: create, start, stop. Each state change is one conditional UPDATE, so two staff
members clicking at once, or two experiments started together, cannot both win."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..mlflow_store import MlflowNotFound
from ..mlflow_store.registry import version_get
from .models import Experiment


class ExperimentInvalid(ValueError):
    """The request makes no valid experiment (unknown version, same version twice, share out of range)."""


class ExperimentConflict(Exception):
    """The experiment is not in a state that allows the change (another one runs, it already stopped...)."""


def experiment_validate(*, champion_version: str, challenger_version: str, challenger_share: float) -> None:
    """Raise ExperimentInvalid unless these are two different registered versions and a share strictly between 0 and 1
    (MlflowUnavailable when the registry cannot say)."""
    if champion_version == challenger_version:
        raise ExperimentInvalid("The champion and the challenger must be different versions.")
    if not 0 < challenger_share < 1:
        raise ExperimentInvalid("The challenger's share is a fraction strictly between 0 and 1, such as 0.1 for 10 %.")
    for version in (champion_version, challenger_version):
        try:
            version_get(version)
        except MlflowNotFound:
            raise ExperimentInvalid(f"The model registry has no version {version}.") from None


def experiment_create(*, champion_version: str, challenger_version: str, challenger_share: float, name: str = "", user=None) -> Experiment:
    """A draft experiment of two registered versions. Raises ExperimentInvalid, or MlflowUnavailable when the registry cannot say."""
    champion_version, challenger_version = str(champion_version).strip(), str(challenger_version).strip()
    experiment_validate(champion_version=champion_version, challenger_version=challenger_version, challenger_share=challenger_share)
    return Experiment.objects.create(
        name=name.strip(),
        champion_version=champion_version,
        challenger_version=challenger_version,
        challenger_share=challenger_share,
        created_by=_user(user),
    )


def experiment_start(*, experiment_id: int, user=None) -> Experiment:
    """Start a draft experiment. Raises ExperimentConflict when it is not a draft or another one is running
    (the partial unique index one_running_experiment decides between concurrent starts)."""
    try:
        with transaction.atomic():
            changed = Experiment.objects.filter(pk=experiment_id, status=Experiment.Status.DRAFT).update(
                status=Experiment.Status.RUNNING, started_at=timezone.now(), started_by=_user(user)
            )
    except IntegrityError:
        running = Experiment.objects.filter(status=Experiment.Status.RUNNING).values_list("pk", flat=True).first()
        raise ExperimentConflict(f"Experiment {running} is running: stop it before starting another.") from None
    experiment = Experiment.objects.get(pk=experiment_id)
    if not changed:
        raise ExperimentConflict(f"Experiment {experiment_id} is {experiment.status}: only a draft can start.")
    return experiment


def experiment_stop(*, experiment_id: int, user=None) -> Experiment:
    """Stop a running experiment; every later upload is answered by the champion alone. Raises ExperimentConflict when it is not running."""
    changed = Experiment.objects.filter(pk=experiment_id, status=Experiment.Status.RUNNING).update(
        status=Experiment.Status.STOPPED, stopped_at=timezone.now(), stopped_by=_user(user)
    )
    experiment = Experiment.objects.get(pk=experiment_id)
    if not changed:
        raise ExperimentConflict(f"Experiment {experiment_id} is {experiment.status}: only a running experiment can stop.")
    return experiment


def _user(user):
    return user if user is not None and user.is_authenticated else None
