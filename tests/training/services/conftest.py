from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.training.policy.factories import tiny_bootstrap
from training.serving.local_server import PolicyServer, policy_server_create


@pytest.fixture(scope="session")
def tiny_v0(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bootstrap(tmp_path_factory.mktemp("deploy-v0")).path


@pytest.fixture(scope="session")
def tiny_candidate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another full checkpoint: what an RL run hands the registry."""
    return tiny_bootstrap(tmp_path_factory.mktemp("deploy-candidate"), seed=1, steps=20).path


@pytest.fixture()
def policy_server(tiny_v0: Path) -> Iterator[PolicyServer]:
    """The model server (vLLM's HTTP contract) serving v0."""
    with policy_server_create(tiny_v0, served_model_name="v0") as running:
        yield running
