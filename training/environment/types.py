"""Public value types of the coding-agent environment and the closed vocabularies they use.

Everything here is a frozen dataclass or a tuple of strings, so verdicts and tasks can be
hashed, pickled to Ray workers and compared in tests.
"""
from __future__ import annotations

from dataclasses import dataclass

TASK_KINDS: tuple[str, ...] = ("terminal", "code_edit", "multi_step")
OPERATING_SYSTEMS: tuple[str, ...] = ("windows", "macos", "linux")
SHELLS: tuple[str, ...] = ("cmd", "powershell", "bash", "zsh")
SPLITS: tuple[str, ...] = ("train", "eval")
TOOLS: tuple[str, ...] = ("shell", "search", "read_file", "edit_file")
TOOL_ERROR_KINDS: tuple[str, ...] = (
    "invalid_for_shell",
    "unknown_tool",
    "invalid_arguments",
    "nonzero_exit",
    "timeout",
    "permission",
)
# Why the hidden test run of a code task produced no passing result (Verdict.test_error_kind).
TEST_ERROR_KINDS: tuple[str, ...] = ("no_code", "syntax_error", "timeout", "crash")


@dataclass(frozen=True)
class Task:
    """One environment task. ``prompt`` is everything the policy sees."""

    task_id: str
    kind: str
    prompt: str
    os: str
    shell: str
    language: str
    split: str


@dataclass(frozen=True)
class ToolCallOutcome:
    """What one action of a response would have done when executed.

    ``exit_code`` is the status the shell would report for shell calls (0 when ok, 9009 /
    127 for a command the shell does not know); None for non-shell tools and timeouts.
    """

    tool: str
    arguments: str
    ok: bool
    error_kind: str | None
    exit_code: int | None


@dataclass(frozen=True)
class Verdict:
    """Objective verification of one response to one task.

    ``success`` is judged only by the task's objective check (intent achieved by a valid
    command; hidden tests all pass; both for multi-step). Hacks that fool the check keep
    ``success`` True on purpose and are listed in ``hacks`` for the rewarder to penalize.
    """

    success: bool
    tool_calls: tuple[ToolCallOutcome, ...]
    tests_passed: int
    tests_total: int
    style_ok: bool | None
    reused_helper: bool | None
    hacks: tuple[str, ...]
    code: str | None
    output_tokens_hint: int
    test_error_kind: str | None = None
