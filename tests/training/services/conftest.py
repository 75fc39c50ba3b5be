from __future__ import annotations

import pytest

from tests.training.rl.conftest import local_ray, rl_policy  # noqa: F401  (shared session fixtures)
from tests.training.rl.factories import RL_TASK_PREFIXES


@pytest.fixture
def small_config(rl_policy):  # noqa: F811
    """A JSON run config: a few quick steps of the tiny policy on its Windows terminal tasks."""
    return {
        "policy_path": str(rl_policy), "task_id_prefixes": list(RL_TASK_PREFIXES), "steps": 3, "group_size": 4,
        "prompts_per_step": 4, "learning_rate": 1e-3, "max_new_tokens": 16, "overlong_buffer": 4,
        "reward_source": "environment", "checkpoint_every": 2,
    }
