from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from training.serving.local_server import PolicyServer, policy_server_create
from training.serving.vllm_client import VLLMClient

BASE_NAME = "policy-v0"


@pytest.fixture(scope="module")
def server(tiny_policy: Path) -> Iterator[PolicyServer]:
    """A real HTTP server on an ephemeral 127.0.0.1 port."""
    with policy_server_create(tiny_policy, served_model_name=BASE_NAME) as running:
        yield running


@pytest.fixture()
def client(server: PolicyServer) -> Iterator[VLLMClient]:
    with VLLMClient(server.url, timeout_s=60) as vllm:
        yield vllm
