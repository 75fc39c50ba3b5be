"""``LoopConfig`` refuses settings that cannot run."""
from __future__ import annotations

import json

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


def test_a_v0_bootstrapped_with_an_older_chat_template_is_used_and_named(tmp_path):
    from training.policy.model import METADATA_FILE
    from training.policy.tokenizer import CHAT_TEMPLATE
    from training.services.loop import step_base_policy

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / METADATA_FILE).write_text(json.dumps({"version": "v0", "config": {"steps": 1500}}))
    said: list[str] = []

    (tmp_path / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    assert step_base_policy(LoopConfig(policy_dir=str(tmp_path)), said.append) == tmp_path
    assert not any("older chat template" in line for line in said)

    (tmp_path / "chat_template.jinja").write_text("{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}")
    assert step_base_policy(LoopConfig(policy_dir=str(tmp_path)), said.append) == tmp_path
    assert any("older chat template" in line and str(tmp_path) in line for line in said)
