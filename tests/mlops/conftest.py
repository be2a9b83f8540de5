import pytest
from django.contrib.auth import get_user_model


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
