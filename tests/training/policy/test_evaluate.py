"""The baseline metrics, computed with the real environment's verifier."""
from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.training.policy.factories import FIXTURE_TASKS
from training.environment import Task, reference_response, task_catalog, verify
from training.policy.evaluate import evaluation_report, policy_respond, report_lines
from training.policy.generate import Generation
from training.policy.model import policy_load


@pytest.fixture(scope="module")
def eval_subset() -> list[Task]:
    """A few eval tasks of every shell and kind (keeps the sandboxed test runs short)."""
    tasks = task_catalog(split="eval")
    chosen: list[Task] = []
    for shell in ("cmd", "powershell", "bash", "zsh"):
        chosen += [t for t in tasks if t.kind == "terminal" and t.shell == shell][:3]
    chosen += [t for t in tasks if t.kind == "code_edit"][:2] + [t for t in tasks if t.kind == "multi_step"][:2]
    return chosen


def _report(tasks: list[Task], flavor: str):
    responses = [reference_response(task, flavor=flavor) for task in tasks]
    generations = [Generation(text=r, token_ids=(7,) * len(r), prompt_tokens=3, finish_reason="stop") for r in responses]
    verdicts = [verify(task, r) for task, r in zip(tasks, responses)]
    return evaluation_report(tasks, generations, verdicts, policy="reference", version=flavor, split="eval")


def test_good_answers_score_perfectly(eval_subset: list[Task]) -> None:
    report = _report(eval_subset, "good")
    assert report.success_rate == 1.0
    assert report.tool_call_error_rate == 0.0
    assert set(report.tool_calls_by_shell) == {"bash", "cmd", "powershell", "zsh"}
    assert report.unit_test_pass_rate == 1.0 and report.code_pass_rate == 1.0
    assert report.helper_reuse_rate == 1.0 and report.hacks == {}


def test_linux_commands_fail_in_windows_shells_only(eval_subset: list[Task]) -> None:
    report = _report(eval_subset, "linux_biased")
    assert report.tool_calls_by_shell["cmd"].error_rate > 0.5
    assert report.tool_calls_by_shell["bash"].error_rate == 0.0
    assert report.tool_error_kinds.get("invalid_for_shell", 0) > 0
    assert report.success_rate < 1.0


def test_reimplemented_helpers_lower_reuse_and_verbosity_costs_tokens(eval_subset: list[Task]) -> None:
    assert _report(eval_subset, "reimplement").helper_reuse_rate == 0.0
    good, verbose = _report(eval_subset, "good"), _report(eval_subset, "verbose")
    assert verbose.output_tokens_per_task > 2 * good.output_tokens_per_task
    assert any("tool-call error rate" in line for line in report_lines(verbose))


def test_a_response_without_code_counts_as_failing_and_not_reusing(eval_subset: list[Task]) -> None:
    code_tasks = [t for t in eval_subset if t.kind != "terminal"]
    generations = [Generation(text="I am not sure.", token_ids=(1, 2, 3), prompt_tokens=3, finish_reason="stop")] * len(code_tasks)
    verdicts = [verify(task, "I am not sure.") for task in code_tasks]
    report = evaluation_report(code_tasks, generations, verdicts, policy="p", version="v", split="eval")
    assert report.unit_test_pass_rate == 0.0 and report.helper_reuse_rate == 0.0
    assert report.output_tokens_per_task == 4  # 3 tokens + eos


def test_policy_respond_keeps_task_order_and_counts_tokens(tiny_policy: Path, eval_subset: list[Task]) -> None:
    model, tokenizer = policy_load(tiny_policy)
    generations = policy_respond(model, tokenizer, eval_subset, max_new_tokens=8, batch_size=5)
    assert len(generations) == len(eval_subset)
    alone = policy_respond(model, tokenizer, eval_subset[6:7], max_new_tokens=8)
    assert generations[6].token_ids == alone[0].token_ids
    assert all(1 <= g.completion_tokens <= 9 for g in generations)


def test_a_prompt_longer_than_the_context_gets_an_empty_answer(tiny_policy: Path) -> None:
    model, tokenizer = policy_load(tiny_policy)
    huge = FIXTURE_TASKS[0].__class__("huge", "terminal", "Linux, bash. " + "list " * 2000, "linux", "bash", "shell")
    short, overflow = policy_respond(model, tokenizer, [FIXTURE_TASKS[0], huge], max_new_tokens=8)
    assert overflow.text == "" and overflow.finish_reason == "length" and overflow.prompt_tokens >= 512
    assert short.completion_tokens >= 1


def test_policy_baseline_command_prints_json(tiny_policy: Path) -> None:
    out = StringIO()
    call_command("policy_baseline", "--policy", str(tiny_policy), "--max-new-tokens", "12", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["tasks"] == len(task_catalog(split="eval"))
    assert set(report["tool_calls_by_shell"]) <= {"bash", "cmd", "powershell", "zsh"}
    for key in ("unit_test_pass_rate", "helper_reuse_rate", "output_tokens_per_task", "tool_call_error_rate"):
        assert key in report
    assert 1 <= report["output_tokens_per_task"] <= 13


def test_several_answers_per_task_give_each_task_its_success_share(eval_subset: list[Task]) -> None:
    linux_fails = [t for t in eval_subset if not verify(t, reference_response(t, flavor="linux_biased")).success]
    tasks = [t for t in linux_fails if t.shell == "cmd"][:2] + [t for t in eval_subset if t.shell == "bash"][:2]
    responses = [reference_response(t, flavor="good") for t in tasks] + [reference_response(t, flavor="linux_biased") for t in tasks]
    generations = [Generation(text=r, token_ids=(7,) * (4 if i < 4 else 10), prompt_tokens=3, finish_reason="stop")
                   for i, r in enumerate(responses)]
    verdicts = [verify(task, r) for task, r in zip(tasks * 2, responses)]
    report = evaluation_report(tasks * 2, generations, verdicts, policy="p", version="v", split="eval", samples_per_task=2)
    assert report.tasks == 4 and report.task_ids == tuple(t.task_id for t in tasks)
    assert report.task_success == (0.5, 0.5, 1.0, 1.0)  # the Linux answer fails in cmd.exe only
    assert report.success_rate == pytest.approx(6 / 8)
    assert report.output_tokens_per_task == 8.0 and report.output_tokens_sd == 0.0  # every task: 5 and 11 tokens
    assert sum(s.calls for s in report.tool_calls_by_shell.values()) == sum(len(v.tool_calls) for v in verdicts)
    assert report.task_shells == ("cmd", "cmd", "bash", "bash") and report.task_output_tokens == (8.0,) * 4
    assert report.task_tool_calls[0] == (
        len(verdicts[0].tool_calls) + len(verdicts[4].tool_calls),
        sum(not o.ok for v in (verdicts[0], verdicts[4]) for o in v.tool_calls),
    )
    assert report.task_tool_calls[0][1] >= 1  # the Linux answer's call fails in cmd.exe
    with pytest.raises(ValueError, match="not 2 rounds"):
        evaluation_report(tasks * 2 + tasks[:1], generations + generations[:1], verdicts + verdicts[:1],
                          policy="p", version="v", split="eval", samples_per_task=2)


def test_policy_baseline_command_samples_several_answers_per_task(tiny_policy: Path) -> None:
    out = StringIO()
    call_command("policy_baseline", "--policy", str(tiny_policy), "--max-new-tokens", "8", "--samples", "2",
                 "--temperature", "1.0", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["tasks"] == len(task_catalog(split="eval")) == len(report["task_success"])
    assert report["samples_per_task"] == 2 and report["temperature"] == 1.0
    assert set(report["task_success"]) <= {0.0, 0.5, 1.0}
    with pytest.raises(CommandError, match="temperature > 0"):
        call_command("policy_baseline", "--policy", str(tiny_policy), "--samples", "2", "--json", stdout=StringIO())
