from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from training.serving.local_server import PolicyServer, policy_server_create

BASE_NAME = "v0"


@pytest.fixture()
def server(tiny_policy: Path) -> Iterator[PolicyServer]:
    """A real local policy server (vLLM's HTTP contract) serving the base as v0."""
    with policy_server_create(tiny_policy, served_model_name=BASE_NAME) as running:
        yield running
