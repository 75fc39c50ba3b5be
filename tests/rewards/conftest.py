"""Rewards fixtures: a private var/ directory, preference datasets of known quality, and an
organization with an API key for the live-server tests of the scoring service."""
from __future__ import annotations

from pathlib import Path

import pytest

from rewards.core.export import pairs_export
from rewards.core.pairs import split_counts
from rewards.models import PreferenceDataset
from rewards.selectors import reward_model_active_reset
from telemetry.models import Organization
from telemetry.services import api_key_create, organization_get_or_create
from tests.rewards.factories import reference_pairs


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path: Path) -> Path:
    """Artifacts and datasets of each test go to its own directory; no model stays loaded."""
    settings.VAR_DIR = tmp_path / "var"
    reward_model_active_reset()
    yield settings.VAR_DIR
    reward_model_active_reset()


def dataset_create(*, org, pairs, version: str = "acme-prefs-0001", directory: Path) -> PreferenceDataset:
    """A dataset snapshot record over ``pairs`` written where ``preferences_mine`` would write them."""
    files = pairs_export(pairs, directory)
    counts = split_counts(pairs)
    return PreferenceDataset.objects.create(
        org=org, version=version, path=str(directory), files=files,
        pairs_train=counts["train"], pairs_validation=counts["validation"],
    )


@pytest.fixture
def reference_dataset(db, var_dir: Path) -> PreferenceDataset:
    """~240 (good, flawed) pairs of environment tasks, a quarter of the prompts held out."""
    org = organization_get_or_create(slug="acme")
    return dataset_create(org=org, pairs=reference_pairs(limit=240), directory=var_dir / "rewards" / "datasets" / "acme-prefs-0001")


@pytest.fixture
def api_key(transactional_db) -> str:
    org = Organization.objects.create(slug="rl-team", name="RL team")
    return api_key_create(org=org)
