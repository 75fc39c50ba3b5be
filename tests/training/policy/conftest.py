from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.policy.factories import tiny_bootstrap


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of a real tiny policy, bootstrapped once per session."""
    return tiny_bootstrap(tmp_path_factory.mktemp("tiny-policy")).path
