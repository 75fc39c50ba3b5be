"""Reward-hacking detectors: ``DETECTORS`` is the explicit registry (kind -> function of
``Evidence`` returning ``Flag``s). ``detect(trajectory, task=...)`` runs them all."""
from __future__ import annotations

from collections.abc import Callable

from rewards.core.detectors.bypass import detect_evaluator_bypass
from rewards.core.detectors.evidence import Evidence, Flag, build_evidence
from rewards.core.detectors.git import detect_history_peek, detect_remote_restore
from rewards.core.detectors.hardcode import detect_hardcoded_output
from rewards.core.detectors.network import detect_network_fetch
from rewards.core.detectors.search import detect_search_flood
from rewards.core.detectors.tampering import detect_test_tampering
from rewards.core.trajectory import Trajectory
from training.environment.types import Task

Detector = Callable[[Evidence], list[Flag]]

DETECTORS: dict[str, Detector] = {
    "test_tampering": detect_test_tampering,
    "history_peek": detect_history_peek,
    "remote_restore": detect_remote_restore,
    "network_fetch": detect_network_fetch,
    "search_flood": detect_search_flood,
    "hardcoded_output": detect_hardcoded_output,
    "evaluator_bypass": detect_evaluator_bypass,
}
DETECTOR_KINDS: tuple[str, ...] = tuple(DETECTORS)


def detect(trajectory: Trajectory, *, task: Task | None = None) -> list[Flag]:
    """Every flag of every detector, in DETECTOR_KINDS order, duplicates removed."""
    evidence = build_evidence(trajectory, task=task)
    flags: list[Flag] = []
    for detector in DETECTORS.values():
        for flag in detector(evidence):
            if flag not in flags:
                flags.append(flag)
    return flags


__all__ = ["DETECTORS", "DETECTOR_KINDS", "Evidence", "Flag", "build_evidence", "detect"]
