"""``LoopConfig`` refuses settings that cannot run."""
from __future__ import annotations

import pytest

from training.services.loop import LoopConfig


@pytest.mark.parametrize("overrides, message", [
    ({"cycles": 0}, "cycles and session counts"),
    ({"canary_share": 1.0}, "canary_share"),
    ({"eval_samples": 0}, "eval_samples"),
    ({"eval_samples": 4, "temperature": 0.0}, "temperature > 0"),
    ({"v0_threads": 0}, "v0_threads"),
])
def test_settings_that_cannot_run_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        LoopConfig(**overrides)


def test_one_greedy_answer_per_task_needs_no_temperature():
    assert LoopConfig(eval_samples=1, temperature=0.0).eval_samples == 1
