"""Dashboard management commands."""
from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from telemetry.models import Membership

pytestmark = pytest.mark.django_db


def test_dashboard_user_creates_a_login_with_membership(capsys, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("dashboard_user", "dana", "--org", "initech", "--password", "s3cret-pass", "--staff")
    assert "Created user dana" in capsys.readouterr().out
    user = authenticate(username="dana", password="s3cret-pass")
    assert user is not None and user.is_staff
    assert Membership.objects.get(user=user).org.slug == "initech"
    call_command("dashboard_user", "dana", "--org", "initech", "--password", "other-pass")
    assert authenticate(username="dana", password="other-pass") is not None
    assert Membership.objects.filter(user=user).count() == 1
