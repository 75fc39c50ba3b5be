from __future__ import annotations

from pathlib import Path

import pytest

from training.simulator import HashSplit, ReferenceResponder, SimulationConfig, simulate


@pytest.fixture(scope="session")
def reference() -> ReferenceResponder:
    return ReferenceResponder()


@pytest.fixture(scope="session")
def two_versions(reference):
    """A 120-session run split between v1 (Linux-biased, verbose) and v2 (mostly good)."""
    return simulate(SimulationConfig(sessions=120, seed=11), responder=reference, assigner=HashSplit(["v1", "v2"]))


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real ~100k-parameter policy, bootstrapped in seconds on the policy tests' fixture corpus."""
    from tests.training.policy.factories import tiny_bootstrap

    return tiny_bootstrap(tmp_path_factory.mktemp("sim-tiny-policy")).path
