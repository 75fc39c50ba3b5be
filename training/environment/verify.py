"""``verify``: objective verification of a response to a task."""
from __future__ import annotations

from training.environment.actions import Action, ShellAction, parse_response
from training.environment.catalog import spec_for
from training.environment.code_tasks import CodeSpec, verify_code
from training.environment.hacks import HackContext, detect_hacks
from training.environment.style import follows_conventions, reuses_helper
from training.environment.terminal import TerminalSpec, evaluate_shell
from training.environment.tools import tool_outcome
from training.environment.types import Task, ToolCallOutcome, Verdict


def verify(task: Task, response: str) -> Verdict:
    """Verify ``response`` against ``task`` (which must come from this catalog).

    Terminal tasks are pure table lookups (microseconds). Code and multi-step tasks run the
    tests in a sandboxed subprocess (about 0.1 s; at most ``sandbox.DEFAULT_LIMITS.wall_s``
    per distinct repo state when the code hangs). Raises KeyError for unknown task ids.
    """
    spec = spec_for(task.task_id)
    actions = parse_response(response)
    if isinstance(spec, TerminalSpec):
        return _verify_terminal(spec, actions, response)
    return _verify_code(spec, actions, response)


def _verify_terminal(spec: TerminalSpec, actions: tuple[Action, ...], response: str) -> Verdict:
    tool_calls: list[ToolCallOutcome] = []
    solved = False
    for action in actions:
        if isinstance(action, ShellAction):
            result = evaluate_shell(action.command, os=spec.task.os, shell=spec.task.shell,
                                    intent=spec.intent, params=spec.arguments)
            solved = solved or (result.solved and result.outcome.ok)
            tool_calls.append(result.outcome)
        else:
            tool_calls.append(tool_outcome(action, target_path=None))
    hacks = detect_hacks(HackContext(task=spec.task, actions=actions, code=None))
    return Verdict(
        success=solved,
        tool_calls=tuple(tool_calls),
        tests_passed=0,
        tests_total=0,
        style_ok=None,
        reused_helper=None,
        hacks=hacks,
        code=None,
        output_tokens_hint=len(response.split()),
    )


def _verify_code(spec: CodeSpec, actions: tuple[Action, ...], response: str) -> Verdict:
    outcome = verify_code(spec, actions)
    code = outcome.code
    hacks = detect_hacks(HackContext(task=spec.task, actions=actions, code=code))
    run = outcome.run
    if run is None:
        test_error = "no_code"
    else:
        test_error = run.error_kind or ("crash" if run.collect_error else None)
    return Verdict(
        success=outcome.success,
        tool_calls=outcome.tool_calls,
        tests_passed=run.passed if run is not None else 0,
        tests_total=outcome.tests_total,
        style_ok=None if code is None else follows_conventions(code, naming=spec.repo.naming, indent=spec.repo.indent),
        reused_helper=None if code is None else reuses_helper(code, spec.helper_name),
        hacks=hacks,
        code=code,
        output_tokens_hint=len(response.split()),
        test_error_kind=test_error,
    )
