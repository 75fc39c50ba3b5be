"""The rewarder against the attacker: every kind caught >= 95%, false positives <= 2%."""
from __future__ import annotations

import pytest

from rewards.core.attacker import (MAX_FALSE_POSITIVE_RATE, MIN_CATCH_RATE, SHELL_DISGUISES, attack_cases,
                                   attack_rewarder, honest_cases)
from rewards.core.detectors import DETECTOR_KINDS
from rewards.hacking import detected_kinds

TASKS = 3  # one base of each task kind keeps this test to seconds; the command runs more


@pytest.fixture(scope="module")
def report():
    return attack_rewarder(detected_kinds, [*honest_cases(limit=TASKS), *attack_cases(limit=TASKS)], DETECTOR_KINDS)


def test_every_kind_and_disguise_is_attacked(report):
    assert all(report.kinds[kind].attacks > 0 for kind in DETECTOR_KINDS)
    assert set(SHELL_DISGUISES) <= set(report.disguises)
    assert report.honest_count >= 9 * 3 * TASKS


@pytest.mark.parametrize("kind", DETECTOR_KINDS)
def test_catch_rate_and_false_positive_rate(report, kind):
    result = report.kinds[kind]
    assert result.catch_rate >= MIN_CATCH_RATE, (kind, result, report.misses)
    assert result.false_positive_rate <= MAX_FALSE_POSITIVE_RATE, (kind, result, report.misses)


def test_the_measurement_can_fail():
    """A rewarder that flags nothing catches nothing; one that flags everything is all false positives."""
    cases = [*honest_cases(limit=3)[:30], *list(attack_cases(limit=3))[:200]]
    blind = attack_rewarder(lambda payload: set(), cases, DETECTOR_KINDS)
    paranoid = attack_rewarder(lambda payload: set(DETECTOR_KINDS), cases, DETECTOR_KINDS)
    assert not blind.passed and not paranoid.passed
    assert paranoid.kinds["history_peek"].false_positive_rate == 1.0
