"""Dashboard fixtures: two organizations filled through the real ingestion path, and users."""
from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import override_settings

from telemetry.bus import reset_bus
from telemetry.models import Membership, Organization
from tests.dashboard.data import ACME_VERSIONS, GLOBEX_VERSIONS, simulate_org

PASSWORD = "correct-horse-battery"
# Tests only: PBKDF2's deliberate slowness buys nothing here.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fast_password_hashers(settings) -> None:
    """Every dashboard test logs users in: hash their passwords fast."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


def user_in(org: Organization, username: str, *, staff: bool = False) -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=staff)
    Membership.objects.create(user=user, org=org)
    return user


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    """Two simulated orgs and their users, created once per test module.

    Built inside a transaction that is rolled back when the module ends; each test runs in
    a savepoint within it (as django.test.TestCase.setUpTestData does).
    """
    with django_db_blocker.unblock(), override_settings(KAFKA_BOOTSTRAP_SERVERS="", PASSWORD_HASHERS=FAST_HASHERS):
        reset_bus()
        with transaction.atomic():
            acme = simulate_org(slug="acme", versions=ACME_VERSIONS, sessions=160, seed=11)
            globex = simulate_org(slug="globex", versions=GLOBEX_VERSIONS, sessions=60, seed=5, dead_letters=0)
            alice = user_in(acme, "alice", staff=True)
            bob = user_in(globex, "bob")
            yield SimpleNamespace(acme=acme, globex=globex, alice=alice, bob=bob)
            transaction.set_rollback(True)
        reset_bus()


@pytest.fixture
def acme(world, db) -> Organization:
    return world.acme


@pytest.fixture
def globex(world, db) -> Organization:
    return world.globex


@pytest.fixture
def alice(world, db) -> User:
    """Staff member of acme (may replay dead letters)."""
    return world.alice


@pytest.fixture
def bob(world, db) -> User:
    return world.bob
