from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.training.policy.factories import tiny_bootstrap, tiny_lora_adapter
from training.serving.local_server import PolicyServer, policy_server_create
from training.serving.vllm_client import VLLMClient

BASE_NAME = "policy-v0"


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bootstrap(tmp_path_factory.mktemp("tiny-policy")).path


@pytest.fixture(scope="session")
def lora_dir(tiny_policy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_lora_adapter(tiny_policy, tmp_path_factory.mktemp("lora"))


@pytest.fixture(scope="session")
def full_version_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second full checkpoint (different seed): a 'version' that is a full fine-tune."""
    return tiny_bootstrap(tmp_path_factory.mktemp("full-version"), seed=1, steps=20).path


@pytest.fixture(scope="module")
def server(tiny_policy: Path) -> Iterator[PolicyServer]:
    """A real HTTP server on an ephemeral 127.0.0.1 port."""
    with policy_server_create(tiny_policy, served_model_name=BASE_NAME) as running:
        yield running


@pytest.fixture()
def client(server: PolicyServer) -> Iterator[VLLMClient]:
    with VLLMClient(server.url, timeout_s=60) as vllm:
        yield vllm
