from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.training.policy.factories import tiny_bootstrap
from tests.training.rl.conftest import local_ray, rl_policy  # noqa: F401  (shared session fixtures)
from tests.training.rl.factories import RL_TASK_PREFIXES
from training.serving.local_server import PolicyServer, policy_server_create


@pytest.fixture
def small_config(rl_policy):  # noqa: F811
    """A JSON run config: a few quick steps of the tiny policy on its Windows terminal tasks."""
    return {
        "policy_path": str(rl_policy), "task_id_prefixes": list(RL_TASK_PREFIXES), "steps": 3, "group_size": 4,
        "prompts_per_step": 4, "learning_rate": 1e-3, "max_new_tokens": 16, "overlong_buffer": 4,
        "reward_source": "environment", "checkpoint_every": 2,
    }


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
