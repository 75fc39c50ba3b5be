"""Terminal tasks: one intent, in one OS/shell, with one set of arguments.

Verification is a table lookup: each ``$ command`` is checked for validity in the shell
(``shell_check``), then matched against the intent (``intents``). The task succeeds when at
least one valid command achieves the intent; failed attempts before it still count as
failed tool calls.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from training.environment.intents import INTENTS, PATH_KEYS, Intent, Params, fill
from training.environment.platforms import COMBOS, context_line, is_windows_shell, shell_path
from training.environment.shell_check import CommandCheck, check_command
from training.environment.shell_syntax import dialect_of, squash
from training.environment.types import Task, ToolCallOutcome


@dataclass(frozen=True)
class TerminalSpec:
    """A terminal task and the hidden facts needed to verify it."""

    task: Task
    intent: Intent
    params: tuple[tuple[str, str], ...]

    @property
    def arguments(self) -> dict[str, str]:
        return dict(self.params)


@dataclass(frozen=True)
class ShellResult:
    """One shell tool call: its outcome, whether it achieved the intent, and the parse."""

    outcome: ToolCallOutcome
    solved: bool
    check: CommandCheck


def build_terminal_specs() -> list[TerminalSpec]:
    """All terminal tasks; the last instance of every intent/shell pair is held out."""
    specs: list[TerminalSpec] = []
    for intent in INTENTS:
        for os, shell in COMBOS:
            instances = intent.instances_for(os)
            for index, params in enumerate(instances):
                split = "eval" if index == len(instances) - 1 else "train"
                task = Task(
                    task_id=f"term-{intent.name}-{os}-{shell}-{index:03d}",
                    kind="terminal",
                    prompt=f"{context_line(os, shell)} {fill(intent.instruction, params)}",
                    os=os,
                    shell=shell,
                    language="shell",
                    split=split,
                )
                specs.append(TerminalSpec(task=task, intent=intent, params=tuple(params.items())))
    return specs


def evaluate_shell(command: str, *, os: str, shell: str, intent: Intent | None = None,
                   params: Params | None = None) -> ShellResult:
    """Check one shell command and, when an intent is given, whether it achieves it."""
    check = check_command(command, os=os, shell=shell)
    if not check.ok:
        return ShellResult(_outcome(command, check.error_kind, check.exit_code), False, check)
    if intent is None:
        return ShellResult(_outcome(command, None, 0), False, check)
    dialect = dialect_of(shell)
    windows = is_windows_shell(shell)
    arguments = params or {}
    for statement in check.statements:
        for form in intent.fail.get(dialect, ()):
            if form.matcher(statement, arguments, windows):
                return ShellResult(_outcome(command, form.error_kind, form.exit_code), False, check)
    solved = any(
        matcher(statement, arguments, windows)
        for statement in check.statements
        for matcher in intent.accept[dialect]
    )
    return ShellResult(_outcome(command, None, 0), solved, check)


def _outcome(command: str, error_kind: str | None, exit_code: int | None) -> ToolCallOutcome:
    return ToolCallOutcome(tool="shell", arguments=command, ok=error_kind is None, error_kind=error_kind,
                           exit_code=exit_code)


def render_command(template: str, params: Mapping[str, str], shell: str) -> str:
    """Fill a reference command template, writing path parameters the shell's way."""
    shaped = {key: shell_path(value, shell) if key in PATH_KEYS else value for key, value in params.items()}
    return squash(fill(template, shaped))


def good_command(spec: TerminalSpec) -> str:
    return render_command(spec.intent.good[dialect_of(spec.task.shell)], spec.arguments, spec.task.shell)


def linux_biased_command(spec: TerminalSpec) -> str:
    """The POSIX answer typed into whatever shell the task is in."""
    return render_command(spec.intent.good["posix"], spec.arguments, "bash")
