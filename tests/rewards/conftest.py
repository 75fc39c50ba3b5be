"""Rewards fixtures: an organization with an API key, served by pytest-django's live server."""
from __future__ import annotations

import pytest

from telemetry.models import Organization
from telemetry.services import api_key_create


@pytest.fixture
def api_key(transactional_db) -> str:
    org = Organization.objects.create(slug="rl-team", name="RL team")
    return api_key_create(org=org)
