from __future__ import annotations


import pytest

from training.simulator import HashSplit, ReferenceResponder, SimulationConfig, simulate


@pytest.fixture(scope="session")
def reference() -> ReferenceResponder:
    return ReferenceResponder()


@pytest.fixture(scope="session")
def two_versions(reference):
    """A 120-session run split between v1 (Linux-biased, verbose) and v2 (mostly good)."""
    return simulate(SimulationConfig(sessions=120, seed=11), responder=reference, assigner=HashSplit(["v1", "v2"]))
