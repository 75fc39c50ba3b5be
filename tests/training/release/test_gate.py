"""The evaluation gate on evaluation reports (``training.policy.evaluate``'s shape)."""
from __future__ import annotations

import json
from dataclasses import replace
import math

import pytest

from training.policy.evaluate import EvaluationReport, ShellToolCalls
from training.release.gate import GateConfig, gate_evaluate
from training.release.stats import (
    holm_adjust,
    paired_improvement_test,
    paired_ratio_better_test,
    proportion_better_test,
    proportion_worse_test,
)


def report(
    version: str, *, success: int, tasks: int = 138, shells: dict[str, tuple[int, int]] | None = None,
    tokens: float = 40.0, tokens_sd: float = 12.0, hacked: int = 0,
) -> EvaluationReport:
    shells = shells or {"bash": (60, 6), "zsh": (45, 4), "cmd": (25, 12), "powershell": (22, 10)}
    calls = sum(c for c, _ in shells.values())
    errors = sum(e for _, e in shells.values())
    return EvaluationReport(
        policy=f"/policies/{version}", version=version, split="eval", tasks=tasks,
        success_rate=success / tasks, success_rate_by_kind={},
        tool_calls_by_shell={s: ShellToolCalls(calls=c, errors=e) for s, (c, e) in shells.items()},
        tool_call_error_rate=errors / calls, tool_error_kinds={}, unit_test_pass_rate=None, code_pass_rate=None,
        helper_reuse_rate=None, style_rate=None, output_tokens_per_task=tokens, input_tokens_per_task=80.0,
        hacks={"edit_tests": hacked} if hacked else {}, output_tokens_sd=tokens_sd, hacked_tasks=hacked,
    )


SERVING = report("v0", success=60)
BETTER_SHELLS = {"bash": (60, 3), "zsh": (45, 2), "cmd": (25, 3), "powershell": (22, 2)}


def test_gate_refuses_a_worse_candidate():
    result = gate_evaluate(candidate=report("v1", success=50), serving=SERVING)
    assert not result.passed
    assert not result.primary["passed"]
    assert result.primary["improvement"] == pytest.approx(-10 / 138)
    assert any("verified success" in reason for reason in result.reasons)


def test_gate_passes_a_clearly_better_candidate_and_records_every_number():
    result = gate_evaluate(candidate=report("v1", success=90, shells=BETTER_SHELLS, tokens=35.0), serving=SERVING)
    assert result.passed, result.reasons
    assert result.primary["p_value"] < 0.05
    recorded = json.loads(json.dumps(result.to_dict()))  # JSON-ready, as the registry stores it
    metrics = {check["metric"] for check in recorded["checks"]}
    assert {"tool_call_error_rate", "tool_call_error_rate[cmd]", "windows_terminal_accuracy", "tokens_per_task",
            "hacked_task_share"} <= metrics
    windows = next(c for c in recorded["checks"] if c["metric"] == "windows_terminal_accuracy")
    assert windows["serving"] == pytest.approx(25 / 47) and windows["candidate"] == pytest.approx(42 / 47)
    assert recorded["config"]["margin"] == 0.02


def test_gate_refuses_better_success_with_a_windows_regression():
    shells = {"bash": (60, 0), "zsh": (45, 0), "cmd": (25, 14), "powershell": (22, 12)}
    result = gate_evaluate(candidate=report("v1", success=90, shells=shells), serving=SERVING)
    assert result.primary["passed"]
    assert not result.passed
    regressed = {c.metric for c in result.checks if c.regressed}
    assert "windows_terminal_accuracy" in regressed and "tool_call_error_rate[cmd]" in regressed
    assert "tool_call_error_rate" not in regressed  # overall it improved


def test_gate_refuses_a_reward_hacker_and_token_bloat():
    hacker = gate_evaluate(candidate=report("v1", success=95, shells=BETTER_SHELLS, hacked=3), serving=SERVING)
    assert not hacker.passed and [c.metric for c in hacker.checks if c.regressed] == ["hacked_task_share"]
    bloat = gate_evaluate(candidate=report("v1", success=95, shells=BETTER_SHELLS, tokens=60.0), serving=SERVING)
    assert not bloat.passed and [c.metric for c in bloat.checks if c.regressed] == ["tokens_per_task"]


def test_margin_is_configurable():
    candidate = report("v1", success=75, shells=BETTER_SHELLS)
    assert gate_evaluate(candidate=candidate, serving=SERVING, config=GateConfig(margin=0.0)).passed
    assert not gate_evaluate(candidate=candidate, serving=SERVING, config=GateConfig(margin=0.10)).passed


def test_reports_on_different_tasks_are_refused():
    with pytest.raises(ValueError, match="same held-out tasks"):
        gate_evaluate(candidate=report("v1", success=50, tasks=100), serving=SERVING)


def test_one_sided_proportion_test_by_hand():
    # pooled p = 0.5, se = sqrt(0.25 * 2 / 100) = 0.0707..., z = 0.1 / se = 1.4142 -> p = 0.0786
    assert proportion_better_test(successes_a=45, trials_a=100, successes_b=55, trials_b=100) == pytest.approx(
        0.5 * math.erfc(1.41421356 / math.sqrt(2)), rel=1e-6
    )


def test_holm_adjustment_by_hand():
    # sorted 0.01, 0.03, 0.04 with m = 3: 0.03, max(0.03, 0.06) = 0.06, max(0.06, 0.04) = 0.06
    assert holm_adjust([0.04, None, 0.01, 0.03]) == [pytest.approx(0.06), None, pytest.approx(0.03), pytest.approx(0.06)]


def test_paired_outcomes_give_the_paired_test_more_power():
    # 138 tasks: serving solves 0..59; candidate solves the same 60 plus 10 more (no task lost).
    ids = tuple(f"t{i}" for i in range(138))
    serving = replace(report("v0", success=60), task_ids=ids, task_success=tuple(i < 60 for i in range(138)))
    candidate = replace(report("v1", success=70, shells=BETTER_SHELLS), task_ids=ids,
                        task_success=tuple(i < 70 for i in range(138)))
    paired = gate_evaluate(candidate=candidate, serving=serving, config=GateConfig(margin=0.0))
    unpaired = gate_evaluate(candidate=replace(candidate, task_success=()), serving=serving, config=GateConfig(margin=0.0))
    assert paired.primary["test"].startswith("one-sided paired") and paired.primary["discordant"] == {
        "candidate_only": 10, "serving_only": 0}
    assert paired.passed and paired.primary["p_value"] < 0.01
    assert not unpaired.passed and unpaired.primary["p_value"] > 0.05  # 43.5% vs 50.7%, unpaired: not significant


def test_paired_test_by_hand():
    # d = +1 on 3 of 10 items, -1 on 1: mean 0.2, sd = sqrt((3*0.64 + 0.04*6 + 1.44) / 9) = 0.6325
    a = [False, False, False, True] + [False] * 6
    b = [True, True, True, False] + [False] * 6
    z = 0.2 / (0.632456 / math.sqrt(10))
    assert paired_improvement_test(a, b) == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)), rel=1e-5)


def test_sampled_answers_compare_each_tasks_success_share():
    # 40 tasks, 4 answers each: the candidate gains a quarter on 24 tasks and loses one on 4
    ids = tuple(f"t{i}" for i in range(40))
    serving_shares = tuple(0.25 for _ in ids)
    candidate_shares = tuple(0.5 if i < 24 else 0.0 if i < 28 else 0.25 for i in range(40))
    sampled = dict(task_ids=ids, samples_per_task=4, temperature=0.7)
    serving = replace(report("v0", success=10, tasks=40), task_success=serving_shares, **sampled)
    candidate = replace(report("v1", success=0, tasks=40, shells=BETTER_SHELLS), task_success=candidate_shares,
                        success_rate=sum(candidate_shares) / 40, **sampled)
    result = gate_evaluate(candidate=candidate, serving=serving, config=GateConfig(margin=0.0))
    assert result.primary["improvement"] == pytest.approx(0.125) and result.primary["samples_per_task"] == 4
    assert result.primary["test"].endswith("on 4 answers per task at temperature 0.7")
    assert result.primary["discordant"] == {"candidate_only": 24, "serving_only": 4}
    assert result.primary["p_value"] == pytest.approx(paired_improvement_test(serving_shares, candidate_shares))
    assert result.passed
    with pytest.raises(ValueError, match="same way"):
        gate_evaluate(candidate=replace(candidate, samples_per_task=1, temperature=0.0), serving=serving)


def test_paired_test_on_success_shares_by_hand():
    # d = (+0.5, +0.25, -0.25, 0): mean 0.125, sample sd = sqrt((0.140625 + 0.015625 + 0.140625 + 0.015625) / 3)
    a, b = [0.0, 0.25, 0.5, 1.0], [0.5, 0.5, 0.25, 1.0]
    z = 0.125 / (math.sqrt(0.3125 / 3) / 2)
    assert paired_improvement_test(a, b) == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)), rel=1e-9)


def test_paired_ratio_test_by_hand():
    # R_a = 2/8, R_b = 4/8, mean trials 8/3 on both sides; influences u = (0.1875, 0.1875, -0.375)
    a, b = [(1, 2), (0, 2), (1, 4)], [(2, 2), (1, 2), (1, 4)]
    se = math.sqrt((2 * 0.1875**2 + 0.375**2) / 2 / 3)
    assert paired_ratio_better_test(a, b) == pytest.approx(0.5 * math.erfc((0.25 / se) / math.sqrt(2)), rel=1e-9)
    assert paired_ratio_better_test(a[:1], b[:1]) is None


def test_tool_call_checks_are_paired_per_task_when_the_reports_carry_them():
    # 20 cmd tasks, 8 calls each (8 sampled answers): serving fails 2 calls on every task; the
    # candidate fails all 8 on three tasks and 2 elsewhere -- errors that cluster in a few tasks
    ids, shells = tuple(f"t{i}" for i in range(20)), ("cmd",) * 20
    s_tasks = [(8, 2)] * 20
    c_tasks = [(8, 8)] * 3 + [(8, 2)] * 17
    loose = GateConfig(margin=0.0, max_error_rate_increase=1.0, max_shell_error_rate_increase=1.0, max_windows_accuracy_drop=1.0)
    sampled = dict(task_ids=ids, task_shells=shells, samples_per_task=8, temperature=0.7)
    serving = replace(report("v0", success=5, tasks=20, shells={"cmd": (160, 40)}), task_tool_calls=tuple(s_tasks), **sampled)
    candidate = replace(report("v1", success=5, tasks=20, shells={"cmd": (160, 58)}), task_tool_calls=tuple(c_tasks), **sampled)
    checks = {c.metric: c for c in gate_evaluate(candidate=candidate, serving=serving, config=loose).checks}
    pooled = proportion_worse_test(successes_a=40, trials_a=160, successes_b=58, trials_b=160, higher_is_better=False)
    errors = [(e, c) for c, e in s_tasks], [(e, c) for c, e in c_tasks]
    assert checks["tool_call_error_rate[cmd]"].p_value == pytest.approx(paired_ratio_better_test(*errors))
    assert checks["tool_call_error_rate[cmd]"].p_value > pooled  # clustered errors are weaker evidence
    ok = [(c - e, c) for c, e in c_tasks], [(c - e, c) for c, e in s_tasks]
    assert checks["windows_terminal_accuracy"].p_value == pytest.approx(paired_ratio_better_test(*ok))
    unpaired = {c.metric: c for c in gate_evaluate(candidate=replace(candidate, task_tool_calls=()), serving=serving,
                                                   config=loose).checks}
    assert unpaired["tool_call_error_rate[cmd]"].p_value == pytest.approx(pooled)


def test_tokens_per_task_are_compared_task_by_task_when_the_reports_carry_them():
    # every task 2 tokens longer: a small shift that the spread between tasks hides from Welch's t
    ids = tuple(f"t{i}" for i in range(40))
    s_tokens = tuple(float(10 + 3 * i) for i in range(40))
    c_tokens = tuple(t + 2.0 + (0.5 if i % 2 else -0.5) for i, t in enumerate(s_tokens))
    loose = GateConfig(margin=0.0, max_tokens_increase=1.0)
    serving = replace(report("v0", success=5, tasks=40, tokens=sum(s_tokens) / 40, tokens_sd=35.0), task_ids=ids,
                      task_output_tokens=s_tokens)
    candidate = replace(report("v1", success=5, tasks=40, tokens=sum(c_tokens) / 40, tokens_sd=35.0), task_ids=ids,
                        task_output_tokens=c_tokens)
    tokens = {c.metric: c for c in gate_evaluate(candidate=candidate, serving=serving, config=loose).checks}["tokens_per_task"]
    assert tokens.p_value == pytest.approx(paired_improvement_test(s_tokens, c_tokens)) and tokens.p_value < 1e-6
    welch = {c.metric: c for c in gate_evaluate(candidate=replace(candidate, task_output_tokens=()), serving=serving,
                                                config=loose).checks}["tokens_per_task"]
    assert welch.p_value > 0.3
