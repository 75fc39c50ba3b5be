"""Best-practice signals from the environment's checks, on answers of known quality."""
from __future__ import annotations

import pytest

from rewards.core.signals import FEATURE_NAMES, best_practice, prompt_conventions, prompt_helpers, signal_features
from training.environment import reference_response, task_catalog

CODE_TASK = next(t for t in task_catalog(split="train") if t.kind == "code_edit")
CMD_TASK = next(t for t in task_catalog(split="train") if t.kind == "terminal" and t.shell == "cmd")


def test_conventions_and_helpers_are_read_from_the_prompt():
    naming, indent = prompt_conventions(CODE_TASK.prompt)
    assert naming in ("snake", "camel") and indent in (2, 4)
    assert prompt_helpers(CODE_TASK.prompt)


@pytest.mark.parametrize("flavor, style, reused", [("good", True, True), ("reimplement", False, False)])
def test_style_and_helper_reuse(flavor, style, reused):
    signals = best_practice(CODE_TASK.prompt, reference_response(CODE_TASK, flavor=flavor))
    assert (signals.style_kept, signals.helper_reused) == (style, reused)


def test_verbosity_and_shell_validity():
    good = best_practice(CMD_TASK.prompt, reference_response(CMD_TASK, flavor="good"))
    verbose = best_practice(CMD_TASK.prompt, reference_response(CMD_TASK, flavor="verbose"))
    linux = best_practice(CMD_TASK.prompt, reference_response(CMD_TASK, flavor="linux_biased"))
    assert good.verbosity < 0.1 < verbose.verbosity
    assert good.commands_valid == 1.0 and linux.commands_valid == 0.0
    assert good.style_kept is None and good.helper_reused is None  # no code, no conventions to keep


def test_features_have_a_fixed_shape():
    assert signal_features(CMD_TASK.prompt, "").shape == (len(FEATURE_NAMES),)
