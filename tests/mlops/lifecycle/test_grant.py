"""Granting the promote permission: the command, and the admin's read-only audit trail."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from mlops.lifecycle.promotion import can_promote
from mlops.models import PromotionRecord

pytestmark = pytest.mark.django_db


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def test_the_grant_command_gives_and_takes_the_permission_to_staff_only(db):
    staff = get_user_model().objects.create_user("ops", is_staff=True)
    get_user_model().objects.create_user("member")

    call_command("promotion_grant", "ops", stdout=io.StringIO())
    granted = can_promote(fresh(staff))
    call_command("promotion_grant", "ops", "--revoke", stdout=io.StringIO())

    assert (granted, can_promote(fresh(staff))) == (True, False)
    with pytest.raises(CommandError, match="not staff"):
        call_command("promotion_grant", "member")


def test_superusers_may_promote_without_a_grant(admin_user):
    assert can_promote(admin_user)


def test_the_audit_trail_is_listed_in_admin_and_cannot_be_deleted(admin_client):
    record = PromotionRecord.objects.create(kind="override", actor_name="cli", model_name="m", to_version="2", reason="why not")

    listing = admin_client.get("/admin/mlops/promotionrecord/")
    delete = admin_client.post(f"/admin/mlops/promotionrecord/{record.pk}/delete/", {"post": "yes"})

    assert listing.status_code == 200 and "why not" in listing.content.decode()
    assert delete.status_code == 403 and PromotionRecord.objects.filter(pk=record.pk).exists()
