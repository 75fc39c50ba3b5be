from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.training.policy.factories import tiny_bootstrap, tiny_lora_adapter
from training.serving.local_server import PolicyServer, policy_server_create

BASE_NAME = "v0"


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bootstrap(tmp_path_factory.mktemp("release-tiny-policy")).path


@pytest.fixture(scope="session")
def lora_dir(tiny_policy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_lora_adapter(tiny_policy, tmp_path_factory.mktemp("release-lora"))


@pytest.fixture(scope="session")
def full_version_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bootstrap(tmp_path_factory.mktemp("release-full"), seed=1, steps=20).path


@pytest.fixture()
def server(tiny_policy: Path) -> Iterator[PolicyServer]:
    """A real local policy server (vLLM's HTTP contract) serving the base as v0."""
    with policy_server_create(tiny_policy, served_model_name=BASE_NAME) as running:
        yield running
