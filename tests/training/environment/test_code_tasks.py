"""Code-edit and multi-step verification: hidden tests, style, reuse, replayed shell steps."""
from __future__ import annotations

import time

import pytest

from training.environment import reference_response, task_catalog, task_get, verify
from training.environment.sandbox import DEFAULT_LIMITS

MARGIN_S = 1.5


def test_prompt_shows_the_helper_in_the_repo_style() -> None:
    task = task_get("code-mean_value-ledger")
    assert task.kind == "code_edit" and task.language == "python"
    assert "def safeDiv(numerator, denominator, default=0.0):\n  return" in task.prompt
    assert "meanValue(values)" in task.prompt


def test_good_answer() -> None:
    task = task_get("code-mean_value-ledger")
    verdict = verify(task, "```python\ndef meanValue(values):\n  return safeDiv(sum(values), len(values))\n```")
    assert verdict.success and verdict.style_ok and verdict.reused_helper
    assert verdict.tests_passed == verdict.tests_total == 4
    assert verdict.tool_calls[0].tool == "edit_file" and verdict.tool_calls[0].ok
    assert verdict.test_error_kind is None and verdict.hacks == ()


def test_reimplementation_off_style_passes_but_is_flagged() -> None:
    task = task_get("code-success_rate-ledger")
    code = (
        "def successRate(passed_count, failed_count):\n"
        "    total_count = passed_count + failed_count\n"
        "    return passed_count / total_count if total_count else 0.0\n"
    )
    verdict = verify(task, f"```python\n{code}```")
    assert verdict.success
    assert verdict.style_ok is False and verdict.reused_helper is False


def test_wrong_answer_fails_some_tests() -> None:
    task = task_get("code-mean_value-inkwell")
    verdict = verify(task, "```python\ndef mean_value(values):\n    return sum(values) / len(values)\n```")
    assert not verdict.success
    assert 0 < verdict.tests_passed < verdict.tests_total
    assert verdict.test_error_kind is None


def test_syntax_error_and_missing_function() -> None:
    task = task_get("code-mean_value-inkwell")
    broken = verify(task, "```python\ndef mean_value(values) return 0\n```")
    assert (broken.success, broken.tests_passed, broken.test_error_kind, broken.style_ok) == (False, 0, "syntax_error", False)
    misnamed = verify(task, "```python\ndef meanValue(values):\n    return 0.0\n```")
    assert (misnamed.success, misnamed.tests_passed, misnamed.test_error_kind) == (False, 0, "crash")


def test_no_code_at_all() -> None:
    verdict = verify(task_get("code-mean_value-inkwell"), "I am not sure.")
    assert (verdict.success, verdict.code, verdict.style_ok, verdict.reused_helper) == (False, None, None, None)
    assert (verdict.tests_passed, verdict.tests_total, verdict.test_error_kind) == (0, 4, "no_code")


def test_hanging_solution_is_killed_and_reported_as_timeout() -> None:
    task = task_get("code-mean_value-inkwell")
    started = time.monotonic()
    verdict = verify(task, "```python\ndef mean_value(values):\n    while True:\n        pass\n```")
    elapsed = time.monotonic() - started
    assert not verdict.success and verdict.test_error_kind == "timeout"
    assert elapsed < DEFAULT_LIMITS.wall_s + MARGIN_S


def test_edit_outside_the_repo_is_a_permission_error() -> None:
    task = task_get("code-mean_value-inkwell")
    verdict = verify(task, "edit: /etc/passwd\n```python\nx = 1\n```\nedit: ../other/stats.py\n```python\nx = 1\n```")
    assert [c.error_kind for c in verdict.tool_calls] == ["permission", "permission"]
    assert not verdict.success


def test_tool_errors_are_classified() -> None:
    task = task_get("code-mean_value-inkwell")
    verdict = verify(task, "search:\nread: utils.py\nedit: stats.py\n@teleport home")
    assert [(c.tool, c.error_kind) for c in verdict.tool_calls] == [
        ("search", "invalid_arguments"),
        ("read_file", None),
        ("edit_file", "invalid_arguments"),
        ("teleport", "unknown_tool"),
    ]


def _multi(template: str, shell: str):
    return next(
        t for split in ("train", "eval") for t in task_catalog(split=split)
        if t.task_id.startswith(f"multi-{template}-") and t.shell == shell
    )


@pytest.mark.parametrize("shell", ["cmd", "powershell", "bash", "zsh"])
def test_mkdir_write_requires_the_directory(shell: str) -> None:
    task = _multi("mkdir_write", shell)
    good = reference_response(task, flavor="good")
    assert verify(task, good).success
    without_mkdir = "\n".join(line for line in good.splitlines() if not line.startswith("$ "))
    assert not verify(task, without_mkdir).success


@pytest.mark.parametrize("shell", ["cmd", "powershell"])
def test_linux_habits_fail_multi_step_tasks_on_windows(shell: str) -> None:
    for template in ("mkdir_write", "write_test"):
        task = _multi(template, shell)
        verdict = verify(task, reference_response(task, flavor="linux_biased"))
        assert not verdict.success
        assert any(not call.ok for call in verdict.tool_calls if call.tool == "shell")


def test_write_test_runs_the_tests_on_the_repo_as_it_stands() -> None:
    task = _multi("write_test", "bash")
    good = reference_response(task, flavor="good")
    pytest_line = good.strip().splitlines()[-1]
    code = good[: good.rindex("$ ")]
    early = verify(task, f"{pytest_line}\n{code}")
    assert not early.success
    assert (early.tool_calls[0].error_kind, early.tool_calls[0].exit_code) == ("nonzero_exit", 2)
    verdict = verify(task, good)
    assert verdict.success and verdict.tool_calls[-1].ok and verdict.tool_calls[-1].exit_code == 0


def test_write_test_with_failing_code_reports_pytest_failure() -> None:
    task = _multi("write_test", "zsh")
    good = reference_response(task, flavor="good")
    wrong = good.replace("return ", "return None and ", 1)
    verdict = verify(task, wrong)
    assert not verdict.success
    assert (verdict.tool_calls[-1].error_kind, verdict.tool_calls[-1].exit_code) == ("nonzero_exit", 1)


def test_write_test_with_hanging_code_times_out_once() -> None:
    task = _multi("write_test", "bash")
    good = reference_response(task, flavor="good")
    header, _, _ = good.partition("\n")  # the ```python fence
    name = task.prompt.split(" write ")[1].split("(")[0]
    hanging = good.replace(good[len(header) + 1: good.index("```", 3)],
                           f"def {name}(*args):\n    while True:\n        pass\n")
    started = time.monotonic()
    verdict = verify(task, hanging)
    elapsed = time.monotonic() - started
    assert verdict.tool_calls[-1].error_kind == "timeout"
    assert verdict.test_error_kind == "timeout" and not verdict.success
    assert elapsed < DEFAULT_LIMITS.wall_s + MARGIN_S
