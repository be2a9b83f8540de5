import pytest

from mlops.mirror import enqueue_breaker
from mlops.services import bundled_model_register
from mlops.shadow.enqueue import shadow_breaker
from mlops.shadow.serving import challenger_holder
from tests.support.registry import register_variant


@pytest.fixture(autouse=True)
def fresh_challenger():
    """Each test loads the challenger and meets the broker afresh (both are per process)."""
    challenger_holder.reset()
    shadow_breaker.reset()
    yield
    challenger_holder.reset()
    shadow_breaker.reset()
    enqueue_breaker.reset()


@pytest.fixture
def champion_and_challenger(served_from_registry, tmp_path, nudged_state_dict):
    """The bundled weights as champion (version 1) and slightly different weights as challenger (version 2)."""
    bundled_model_register()
    return register_variant(tmp_path / "challenger", nudged_state_dict, aliases=("challenger",))
