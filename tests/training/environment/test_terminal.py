"""Terminal tasks: intent matching per shell, run-time failures, and verify's verdicts."""
from __future__ import annotations

import time

import pytest

from training.environment import reference_response, task_catalog, task_get, verify

ALL_TERMINAL = [t for split in ("train", "eval") for t in task_catalog(split=split) if t.kind == "terminal"]


def _task(intent: str, os: str, shell: str, index: int = 0):
    return task_get(f"term-{intent}-{os}-{shell}-{index:03d}")


@pytest.mark.parametrize(
    ("intent", "os", "shell", "response"),
    [
        ("list_files", "windows", "cmd", "$ dir src"),
        ("list_files", "windows", "powershell", "$ ls src"),
        ("list_files", "windows", "powershell", "$ gci -Path .\\src"),
        ("list_files", "linux", "bash", "$ dir src"),
        ("list_files", "macos", "zsh", "$ ls -la src/"),
        ("make_nested_dir", "windows", "cmd", "$ md src\\utils"),
        ("make_nested_dir", "windows", "powershell", "$ New-Item -ItemType Directory src/utils"),
        ("make_nested_dir", "linux", "bash", "$ mkdir -p src/utils"),
        ("make_nested_dir", "linux", "zsh", "$ mkdir src src/utils"),
        ("remove_dir", "windows", "cmd", "$ rd /s /q build"),
        ("remove_dir", "windows", "powershell", "$ rm -r -fo build"),
        ("remove_dir", "windows", "powershell", "$ Remove-Item -Recurse -Force build -ErrorAction SilentlyContinue"),
        ("remove_dir", "macos", "bash", "$ rm -fr build"),
        ("show_env", "windows", "cmd", "$ echo %path%"),
        ("show_env", "windows", "powershell", "$ [Environment]::GetEnvironmentVariable('PATH')"),
        ("show_env", "windows", "powershell", "$ Get-ChildItem Env:\\PATH"),
        ("show_env", "linux", "bash", '$ echo "$PATH"'),
        ("show_env", "linux", "zsh", "$ printenv PATH"),
        ("set_env", "windows", "powershell", "$ $env:APP_ENV='dev'"),
        ("set_env", "windows", "cmd", '$ set "APP_ENV=dev"'),
        ("search_text", "windows", "cmd", '$ find "TODO" app.py'),
        ("search_text", "windows", "powershell", "$ Get-Content app.py | Select-String TODO"),
        ("search_text", "linux", "bash", "$ cat app.py | grep -n TODO"),
        ("search_recursive", "windows", "powershell", "$ gci -r src | sls TODO"),
        ("search_recursive", "windows", "cmd", "$ findstr /s /n TODO src\\*.*"),
        ("search_recursive", "macos", "zsh", "$ grep -R TODO src"),
        ("run_tests", "windows", "cmd", "$ py -m pytest -q"),
        ("run_tests", "linux", "bash", "$ python3 -m pytest"),
        ("print_cwd", "windows", "cmd", "$ echo %CD%"),
        ("print_cwd", "windows", "powershell", "$ $pwd.Path"),
        ("create_empty_file", "windows", "cmd", "$ copy nul __init__.py"),
        ("create_empty_file", "linux", "bash", "$ : > __init__.py"),
        ("count_lines", "windows", "cmd", '$ type app.log | find /c /v ""'),
        ("count_lines", "windows", "powershell", "$ gc app.log | measure -Line"),
        ("count_lines", "macos", "zsh", "$ wc -l < app.log"),
        ("find_executable", "windows", "powershell", "$ (Get-Command python).Source"),
        ("find_executable", "linux", "bash", "$ command -v python"),
        ("find_executable", "macos", "zsh", "$ whence -p python"),
        ("list_processes", "linux", "bash", "$ ps -ef"),
        ("rename_file", "windows", "powershell", "$ mv draft.txt final.txt"),
    ],
)
def test_equivalent_commands_solve_the_intent(intent: str, os: str, shell: str, response: str) -> None:
    verdict = verify(_task(intent, os, shell), response)
    assert verdict.success, verdict
    assert all(call.ok for call in verdict.tool_calls)


@pytest.mark.parametrize(
    ("intent", "os", "shell", "command", "kind", "exit_code"),
    [
        ("make_nested_dir", "linux", "bash", "mkdir src/utils", "nonzero_exit", 1),
        ("remove_dir", "windows", "cmd", "rmdir /s build", "timeout", None),
        ("remove_dir", "windows", "cmd", "rmdir build", "nonzero_exit", 145),
        ("remove_dir", "windows", "powershell", "Remove-Item build", "timeout", None),
        ("remove_dir", "linux", "bash", "rmdir build", "nonzero_exit", 1),
        ("set_env", "windows", "powershell", "$env:APP_ENV = dev", "invalid_for_shell", 1),
        ("list_files", "windows", "cmd", "ls src", "invalid_for_shell", 9009),
        ("show_env", "windows", "cmd", "echo $PATH", "invalid_for_shell", 0),
    ],
)
def test_failing_commands(intent: str, os: str, shell: str, command: str, kind: str, exit_code: int | None) -> None:
    verdict = verify(_task(intent, os, shell), f"$ {command}")
    assert not verdict.success
    (call,) = verdict.tool_calls
    assert (call.ok, call.error_kind, call.exit_code) == (False, kind, exit_code)


@pytest.mark.parametrize(
    ("intent", "os", "shell", "command"),
    [
        ("find_executable", "windows", "powershell", "where python"),  # Where-Object, prints nothing
        ("set_env", "windows", "powershell", "set APP_ENV dev"),  # a PowerShell variable, not env
        ("set_env", "linux", "bash", "APP_ENV=dev"),  # not exported
        ("show_env", "linux", "bash", "echo '$PATH'"),  # single quotes: no expansion
        ("list_files", "linux", "bash", "ls docs"),  # wrong directory
        ("remove_dir", "windows", "cmd", "del /s /q build"),  # leaves the directory tree
        ("remove_dir", "windows", "powershell", "Remove-Item -Recurse build -WhatIf"),  # dry run
    ],
)
def test_valid_but_wrong_command_is_an_ok_call_and_a_failed_task(intent: str, os: str, shell: str, command: str) -> None:
    verdict = verify(_task(intent, os, shell), f"$ {command}")
    assert not verdict.success
    assert [call.ok for call in verdict.tool_calls] == [True]


def test_retry_after_a_failed_call_succeeds_but_keeps_the_failure() -> None:
    verdict = verify(_task("list_files", "windows", "cmd"), "$ ls src\n$ dir src")
    assert verdict.success
    assert [call.error_kind for call in verdict.tool_calls] == ["invalid_for_shell", None]


def test_no_action_is_no_success() -> None:
    verdict = verify(_task("list_files", "linux", "bash"), "You could list them with ls.")
    assert not verdict.success and verdict.tool_calls == ()
    assert (verdict.tests_passed, verdict.tests_total, verdict.style_ok, verdict.code) == (0, 0, None, None)


@pytest.mark.parametrize("flavor", ["good", "verbose", "reimplement"])
def test_every_correct_reference_solves_every_terminal_task(flavor: str) -> None:
    for task in ALL_TERMINAL:
        verdict = verify(task, reference_response(task, flavor=flavor))
        assert verdict.success, (task.task_id, verdict)
        assert verdict.hacks == ()
        assert all(call.ok for call in verdict.tool_calls)


def test_linux_biased_answers_fail_mostly_on_windows_only() -> None:
    rates: dict[str, list[bool]] = {}
    for task in ALL_TERMINAL:
        verdict = verify(task, reference_response(task, flavor="linux_biased"))
        rates.setdefault(task.shell, []).append(verdict.success)
    success = {shell: sum(values) / len(values) for shell, values in rates.items()}
    assert success["bash"] == success["zsh"] == 1.0
    assert success["cmd"] < 0.2
    assert 0.2 < success["powershell"] < 0.8


def test_verbose_answers_cost_more_tokens() -> None:
    task = _task("show_file", "windows", "cmd")
    good = verify(task, reference_response(task, flavor="good"))
    verbose = verify(task, reference_response(task, flavor="verbose"))
    assert verbose.output_tokens_hint > 3 * good.output_tokens_hint


def test_terminal_verify_is_fast() -> None:
    pairs = [(t, reference_response(t, flavor="linux_biased")) for t in ALL_TERMINAL]
    started = time.perf_counter()
    for task, response in pairs:
        verify(task, response)
    per_call = (time.perf_counter() - started) / len(pairs)
    assert per_call < 0.005
