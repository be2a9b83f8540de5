"""Every MLOps page renders for staff, empty and filled, and sends everyone else to log in."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/mlops/", "/mlops/predictions/", "/mlops/drift/", "/mlops/models/", "/mlops/alerts/", "/mlops/jobs/"]


@pytest.mark.parametrize("path", PAGES)
def test_an_empty_system_renders_every_page_with_its_empty_states(staff_client, path):
    response = staff_client.get(path)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="empty"' in page
    assert "plotly.min.js" in page
    assert 'aria-current="page"' in page


@pytest.mark.parametrize("path", PAGES)
def test_a_filled_system_renders_every_page(staff_client, filled, path):
    response = staff_client.get(path)

    assert response.status_code == 200


@pytest.mark.parametrize("path", PAGES + ["/mlops/predictions/1/", "/mlops/predictions/1/thumbnail.jpg"])
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("path", PAGES)
def test_signed_in_members_who_are_not_staff_are_sent_to_log_in(member_client, path):
    response = member_client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_acknowledging_needs_staff(member_client, filled):
    response = member_client.post(f"/mlops/alerts/{filled['alert'].pk}/acknowledge")

    assert response.status_code == 302
    filled["alert"].refresh_from_db()
    assert filled["alert"].acknowledged_at is None
