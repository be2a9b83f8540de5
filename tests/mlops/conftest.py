import pytest
from django.contrib.auth import get_user_model

from tests.support.registry import broken_state_dict, bundled_state_dict, nudged_state_dict, served_from_registry  # noqa: F401

from .processes import CeleryWorker, RedisServer


@pytest.fixture
def staff_client(client, db):
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def member_client(client, db):
    user = get_user_model().objects.create_user("member", password="x")
    client.force_login(user)
    return client


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of this test's own, on a free port (integration tests)."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def broker(redis_server):
    """This process publishes its Celery messages to the test's own Redis."""
    from .mirror_support import celery_broker

    with celery_broker(redis_server.url):
        yield redis_server


@pytest.fixture
def workers():
    """Celery workers a test started (``processes.start_worker``); killed at the end."""
    started: list[CeleryWorker] = []
    yield started
    for worker in started:
        worker.kill()
