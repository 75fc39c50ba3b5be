"""Tiny real policies shared by the training tests: each is bootstrapped once per session."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.policy.factories import tiny_bootstrap, tiny_lora_adapter


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of a real ~100k-parameter policy, bootstrapped on the policy tests' fixture corpus."""
    return tiny_bootstrap(tmp_path_factory.mktemp("tiny-policy")).path


@pytest.fixture(scope="session")
def lora_dir(tiny_policy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_lora_adapter(tiny_policy, tmp_path_factory.mktemp("lora"))


@pytest.fixture(scope="session")
def full_version_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second full checkpoint (different seed): a 'version' that is a full fine-tune."""
    return tiny_bootstrap(tmp_path_factory.mktemp("full-version"), seed=1, steps=20).path
