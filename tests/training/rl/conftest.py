from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.rl.factories import tiny_rl_policy


@pytest.fixture(scope="session")
def rl_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sloppy tiny policy on real Windows terminal tasks, bootstrapped once per session."""
    return tiny_rl_policy(tmp_path_factory.mktemp("rl-policy")).path


@pytest.fixture(scope="session")
def local_ray():
    """Local Ray started in-process once per session (what ``rl_train`` does without RAY_ADDRESS)."""
    import os

    import ray

    from training.rl.driver import _ray_init

    saved = os.environ.pop("RAY_ADDRESS", None)
    _ray_init()
    yield ray
    ray.shutdown()
    if saved is not None:
        os.environ["RAY_ADDRESS"] = saved
