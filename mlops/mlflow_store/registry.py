"""The MLflow Model Registry: versions of the food classifier, their artefacts and aliases.

A version's artefact is a folder ``model/`` with the weights (a state_dict as
safetensors or a torch file) and ``manifest.json`` (``predictions.inference.Manifest``);
the version carries the weights' sha256 as tag ``sha256``. Downloads are cached under
``NUTRILEARN_MODEL_CACHE_DIR/<sha256>/`` and checked against that digest before any
weights are read. Errors are translated once, by ``errors.mlflow_errors``.

What a web worker calls (``alias_resolve``, ``version_get``, ``artefact_fetch``, ``classifier_load``)
goes through ``rest`` when the tracking URI is an MLflow server, so that serving predictions never
loads MLflow's client; everything else, and every call on an embedded store (``sqlite:``, a folder),
uses the client (``client.mlflow_module``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from safetensors.torch import save_file

from predictions.inference import FoodClassifier, Manifest, WeightsCorrupt, WeightsMissing, sha256_file

from .client import configure_client_timeouts, experiment_id, get_client, mlflow_module
from .errors import MlflowNotFound, MlflowRejected, mlflow_errors
from .rest import api_get, artifacts_download, serves

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
ARTEFACT_PATH = "model"
MANIFEST_FILE = "manifest.json"
PREVIOUS_CHAMPION_TAG = "previous_champion"


@dataclass(frozen=True)
class VersionRef:
    """A registered model version as the registry describes it."""

    name: str
    version: str
    sha256: str
    source: str
    run_id: str
    aliases: tuple[str, ...] = ()
    tags: dict = dataclasses.field(default_factory=dict)
    created_at: datetime | None = None  # when the version was registered


def model_name() -> str:
    return settings.MLFLOW_REGISTERED_MODEL_NAME


# --- artefact folders -------------------------------------------------------------


def artefact_write(directory: Path, *, manifest: Manifest, state_dict=None, weights_file: Path | None = None) -> Manifest:
    """Write weights and manifest into ``directory``; returns the manifest with the weights' sha256.

    Give either a state_dict (saved as safetensors) or an existing state_dict file (copied as is).
    """
    if (state_dict is None) == (weights_file is None):
        raise ValueError("give exactly one of state_dict and weights_file")
    directory.mkdir(parents=True, exist_ok=True)
    if state_dict is not None:
        target = directory / "weights.safetensors"
        save_file({key: tensor.detach().contiguous() for key, tensor in state_dict.items()}, str(target))
    else:
        target = directory / ("weights" + (weights_file.suffix or ".pt"))
        shutil.copyfile(weights_file, target)
    manifest = dataclasses.replace(manifest, weights_sha256=sha256_file(target), weights_file=target.name)
    manifest.validate()
    (directory / MANIFEST_FILE).write_text(manifest.to_json())
    return manifest


def artefact_read(directory: Path) -> tuple[Manifest, Path]:
    """The manifest of an artefact folder and the path of its weights (not yet checked)."""
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise WeightsCorrupt(f"artefact has no {MANIFEST_FILE}")
    manifest = Manifest.from_json(manifest_path.read_text())
    return manifest, directory / manifest.weights_file


# --- talking to the registry --------------------------------------------------------


def _ref(model_version) -> VersionRef:
    return VersionRef(
        name=model_version.name,
        version=str(model_version.version),
        sha256=model_version.tags.get("sha256", ""),
        source=model_version.source,
        run_id=model_version.run_id or "",
        aliases=tuple(model_version.aliases or ()),
        tags=dict(model_version.tags),
        created_at=datetime.fromtimestamp(model_version.creation_timestamp / 1000, tz=UTC) if model_version.creation_timestamp else None,
    )


def _ref_from_json(model_version: dict) -> VersionRef:
    """A VersionRef from the ``model_version`` object of MLflow's REST API (fields at their default are left out)."""
    tags = {tag["key"]: tag.get("value", "") for tag in model_version.get("tags", ())}
    created = int(model_version.get("creation_timestamp") or 0)
    return VersionRef(
        name=model_version["name"],
        version=str(model_version["version"]),
        sha256=tags.get("sha256", ""),
        source=model_version.get("source", ""),
        run_id=model_version.get("run_id") or "",
        aliases=tuple(model_version.get("aliases") or ()),
        tags=tags,
        created_at=datetime.fromtimestamp(created / 1000, tz=UTC) if created else None,
    )


def _over_rest() -> bool:
    return serves(settings.MLFLOW_TRACKING_URI)


def registered_model_ensure() -> None:
    """Create the registered model if missing; safe when two processes do it at once."""
    client = get_client()
    MlflowException = mlflow_module().exceptions.MlflowException
    with mlflow_errors("create registered model"):
        try:
            client.get_registered_model(model_name())
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            try:
                client.create_registered_model(model_name(), description="Food recognition from meal photos.")
            except MlflowException as again:
                if again.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise


def aliases_get() -> dict[str, str]:
    """Alias -> version of the registered model; empty when it does not exist yet."""
    try:
        with mlflow_errors("read registered model"):
            registered = get_client().get_registered_model(model_name())
    except MlflowNotFound:
        return {}
    return {alias: str(version) for alias, version in (registered.aliases or {}).items()}


def alias_resolve(alias: str) -> VersionRef:
    """The version an alias points to; MlflowNotFound when the alias is not set."""
    if _over_rest():
        return _alias_resolve_rest(alias)
    version = aliases_get().get(alias)
    if version is None:
        raise MlflowNotFound(f"alias {alias!r} of {model_name()} is not set")
    return version_get(version)


def _alias_resolve_rest(alias: str) -> VersionRef:
    uri, name = settings.MLFLOW_TRACKING_URI, model_name()
    try:
        answer = api_get(
            uri, "/api/2.0/mlflow/registered-models/alias", params={"name": name, "alias": alias}, action=f"resolve alias {alias} of {name}"
        )
    except MlflowNotFound:
        raise
    except MlflowRejected as exc:
        # The server answers an alias that is not set as INVALID_PARAMETER_VALUE, as it answers a malformed request:
        # the registered model's aliases tell the two apart (and a missing model raises MlflowNotFound here).
        registered = api_get(uri, "/api/2.0/mlflow/registered-models/get", params={"name": name}, action=f"read {name}")
        if alias not in {entry.get("alias") for entry in registered.get("registered_model", {}).get("aliases", ())}:
            raise MlflowNotFound(f"alias {alias!r} of {name} is not set") from exc
        raise
    return _ref_from_json(answer["model_version"])


def version_get(version: str | int, *, name: str | None = None) -> VersionRef:
    """A version of the registered model (or of the registered model ``name``); MlflowNotFound when there is none."""
    name = name or model_name()
    if _over_rest():
        answer = api_get(
            settings.MLFLOW_TRACKING_URI, "/api/2.0/mlflow/model-versions/get", params={"name": name, "version": str(version)},
            action=f"read {name} version {version}",
        )  # fmt: skip
        return _ref_from_json(answer["model_version"])
    with mlflow_errors(f"read {name} version {version}"):
        return _ref(get_client().get_model_version(name, str(version)))


def versions_list() -> list[VersionRef]:
    """All versions of the registered model, newest first."""
    with mlflow_errors(f"list versions of {model_name()}"):
        found = get_client().search_model_versions(f"name = '{model_name()}'")
    return sorted((_ref(mv) for mv in found), key=lambda ref: int(ref.version), reverse=True)


def version_register(
    *, artefact_dir: Path, run_id: str | None = None, run_name: str = "registration", description: str = "",
    tags: dict | None = None, aliases: tuple[str, ...] = (),
) -> VersionRef:
    """Log an artefact folder to a run (a new registration run if none is given) and register it as a new version."""
    manifest, weights = artefact_read(artefact_dir)
    if sha256_file(weights) != manifest.weights_sha256:
        raise WeightsCorrupt("artefact weights do not match their manifest's sha256")
    registered_model_ensure()
    client = get_client()
    with mlflow_errors("register model version"):
        own_run = run_id is None
        if own_run:
            run_id = client.create_run(experiment_id(), run_name=run_name, tags={"run_type": "registration"}).info.run_id
        client.log_artifacts(run_id, str(artefact_dir), ARTEFACT_PATH)
        artifact_uri = client.get_run(run_id).info.artifact_uri
        version_tags = {"sha256": manifest.weights_sha256, "architecture": manifest.architecture}
        version_tags.update({key: str(value) for key, value in (tags or {}).items()})
        created = client.create_model_version(
            model_name(), source=f"{artifact_uri}/{ARTEFACT_PATH}", run_id=run_id, tags=version_tags, description=description
        )
        for alias in aliases:
            client.set_registered_model_alias(model_name(), alias, created.version)
        if own_run:
            client.set_terminated(run_id, "FINISHED")
    logger.info("registered %s version %s (sha256 %s…)", model_name(), created.version, manifest.weights_sha256[:12])
    return version_get(created.version)


def alias_set(alias: str, version: str | int) -> None:
    with mlflow_errors(f"set alias {alias}"):
        get_client().set_registered_model_alias(model_name(), alias, str(version))


def alias_delete(alias: str) -> None:
    with mlflow_errors(f"delete alias {alias}"):
        get_client().delete_registered_model_alias(model_name(), alias)


def registered_model_tag_get(key: str) -> str | None:
    with mlflow_errors("read registered model"):
        return get_client().get_registered_model(model_name()).tags.get(key)


def registered_model_tag_set(key: str, value: str) -> None:
    with mlflow_errors("tag registered model"):
        get_client().set_registered_model_tag(model_name(), key, value)


def version_tags_set(version: str | int, tags: dict) -> None:
    with mlflow_errors(f"tag version {version}"):
        for key, value in tags.items():
            get_client().set_model_version_tag(model_name(), str(version), key, str(value))


# --- artefacts of registered versions -----------------------------------------------


def cache_dir() -> Path:
    return Path(settings.NUTRILEARN_MODEL_CACHE_DIR)


def artefact_fetch(ref: VersionRef) -> Path:
    """The local folder of a version's artefact, downloaded once and kept by sha256.

    Raises WeightsCorrupt when the downloaded weights do not match the version's sha256 tag.
    """
    if len(ref.sha256) != 64:
        raise WeightsCorrupt(f"version {ref.version} has no valid sha256 tag")
    cached = cache_dir() / ref.sha256
    if (cached / MANIFEST_FILE).is_file():
        return cached
    cache_dir().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=cache_dir()))
    try:
        with mlflow_errors(f"download version {ref.version}"):
            local = _artefact_download(ref.source, staging)
        manifest, weights = artefact_read(local)
        if manifest.weights_sha256 != ref.sha256:
            raise WeightsCorrupt(
                f"version {ref.version}: manifest sha256 {manifest.weights_sha256[:12]}… differs from the tag's {ref.sha256[:12]}…"
            )
        actual = sha256_file(weights) if weights.is_file() else "missing"
        if actual != ref.sha256:
            raise WeightsCorrupt(
                f"version {ref.version}: downloaded weights have sha256 {actual[:12]}…, the registry says {ref.sha256[:12]}…"
            )
        try:
            local.rename(cached)
        except OSError:
            if not (cached / MANIFEST_FILE).is_file():  # not a concurrent download of the same artefact
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cached


def _artefact_download(source: str, staging: Path) -> Path:
    """Download the artefact folder at ``source`` into ``staging``; returns its local path.

    Talking to an MLflow server, a folder on this machine (a path or ``file:`` URI, e.g. the server's shared
    artefact folder) is copied and an ``mlflow-artifacts:`` one comes through the server's artifact proxy,
    without MLflow's client; any other location (object storage, ``models:/``...) and an embedded store use the client.
    """
    location = urlsplit(source)
    if _over_rest() and location.scheme in ("", "file"):
        folder = Path(unquote(location.path) if location.scheme else source)
        shutil.copytree(folder, staging / folder.name)
        return staging / folder.name
    if _over_rest() and location.scheme == "mlflow-artifacts":
        return artifacts_download(source, tracking_uri=settings.MLFLOW_TRACKING_URI, into=staging)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow = mlflow_module()
    configure_client_timeouts()
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(staging), tracking_uri=settings.MLFLOW_TRACKING_URI))


def _classifier_from(folder: Path, ref: VersionRef) -> FoodClassifier:
    manifest, weights = artefact_read(folder)
    if manifest.weights_sha256 != ref.sha256:
        raise WeightsCorrupt(f"version {ref.version}: cached manifest does not match the registry's sha256")
    return FoodClassifier.load(manifest, weights)


def classifier_load(ref: VersionRef) -> FoodClassifier:
    """Fetch a version's artefact and rebuild its network; the weights' sha256 is checked before reading them.

    A damaged cached copy is discarded and downloaded again once; a download that does not
    match the registry's sha256 raises WeightsCorrupt.
    """
    folder = artefact_fetch(ref)
    try:
        return _classifier_from(folder, ref)
    except (WeightsCorrupt, WeightsMissing) as exc:
        logger.warning("cached artefact of %s version %s is damaged (%s); downloading it again", ref.name, ref.version, exc)
        shutil.rmtree(folder, ignore_errors=True)
    return _classifier_from(artefact_fetch(ref), ref)
