"""Against a real MLflow server, the registry's REST reads give what MLflow's client gives: the same versions, the same bytes.

Two servers: one whose artefacts are in a folder the web worker also sees (``file:`` sources, as the production stack),
one that serves them through its artifact proxy (``mlflow-artifacts:`` sources).
"""

from pathlib import Path

import mlflow.artifacts
import pytest

from mlops import mlflow_store
from mlops.mlflow_store import MlflowNotFound
from mlops.mlflow_store.registry import CHALLENGER, CHAMPION, alias_resolve, artefact_fetch, classifier_load, version_get
from tests.mlops.processes import MlflowServer
from tests.support.mlflow import mlflow_store_at
from tests.support.registry import register_variant

# slow: six MLflow servers on SQLite stores; the app's database plays no part, so the PostgreSQL pass skips them.
pytestmark = [pytest.mark.django_db, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(params=["file", "mlflow-artifacts"])
def mlflow_server(request, settings, tmp_path, mlflow_sqlite_uri):
    """An MLflow server on this test's SQLite store, the app pointed at it (its artefacts as the param says)."""
    if request.param == "file":
        artifact_root = (tmp_path / "artifacts").as_uri()
        server = MlflowServer(tmp_path, backend_uri=mlflow_sqlite_uri, artifacts_uri=artifact_root)
    else:
        artifact_root = "mlflow-artifacts:/"
        server = MlflowServer(
            tmp_path, backend_uri=mlflow_sqlite_uri, artifacts_uri=artifact_root, artifacts_destination=tmp_path / "proxied"
        )
    server.start(timeout=180)
    settings.NUTRILEARN_MODEL_CACHE_DIR = tmp_path / "model-cache"
    try:
        with mlflow_store_at(settings, server.url, tmp_path / "artifacts"):
            settings.MLFLOW_ARTIFACT_ROOT = artifact_root
            yield server
    finally:
        server.stop()


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_aliases_and_versions_read_over_rest_are_those_the_client_reads(
    mlflow_server, settings, tmp_path, mlflow_sqlite_uri, bundled_state_dict, nudged_state_dict
):
    register_variant(tmp_path / "v1", bundled_state_dict, aliases=(CHAMPION,))
    register_variant(tmp_path / "v2", nudged_state_dict, aliases=(CHALLENGER,))

    over_rest = [alias_resolve(CHAMPION), alias_resolve(CHALLENGER), version_get(1)]
    settings.MLFLOW_TRACKING_URI = mlflow_sqlite_uri  # the same store, read by MLflow's client from its database
    mlflow_store.reset_client()
    through_client = [alias_resolve(CHAMPION), alias_resolve(CHALLENGER), version_get(1)]

    assert over_rest == through_client
    assert [ref.version for ref in over_rest] == ["1", "2", "1"]
    assert over_rest[1].aliases == (CHALLENGER,)
    assert len(over_rest[1].sha256) == 64 and over_rest[1].created_at is not None


def test_an_unset_alias_and_an_unknown_version_are_not_found_over_rest(mlflow_server, tmp_path, bundled_state_dict):
    with pytest.raises(MlflowNotFound, match="food-classifier"):
        alias_resolve(CHAMPION)  # no registered model yet
    register_variant(tmp_path / "v1", bundled_state_dict, aliases=(CHAMPION,))

    with pytest.raises(MlflowNotFound, match="alias 'challenger' of food-classifier is not set"):
        alias_resolve(CHALLENGER)
    with pytest.raises(MlflowNotFound, match="RESOURCE_DOES_NOT_EXIST"):
        version_get(7)


def test_an_artefact_downloaded_without_the_client_has_the_clients_bytes_and_loads(mlflow_server, request, tmp_path, nudged_state_dict):
    ref = register_variant(tmp_path / "v1", nudged_state_dict, aliases=(CHAMPION,))

    fetched = artefact_fetch(ref)
    by_client = mlflow.artifacts.download_artifacts(
        artifact_uri=ref.source, dst_path=str(tmp_path / "by-client"), tracking_uri=mlflow_server.url
    )

    assert ref.source.startswith(request.node.callspec.params["mlflow_server"] + ":")
    assert fetched.name == ref.sha256
    assert files_of(fetched) == files_of(Path(by_client))
    assert set(files_of(fetched)) == {"manifest.json", "weights.safetensors"}
    classifier_load(ref).smoke_test()
