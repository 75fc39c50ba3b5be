"""Best-practice signals of a response, from its text alone, with the environment's checks.

Beside what users did with a completion (the product score), a response can be judged on
how it was written:

* ``style_kept``     - its code follows the conventions of the code shown in the prompt
                       (naming and indentation; ``training.environment.style``);
* ``helper_reused``  - it calls a helper the prompt shows instead of re-implementing it;
* ``verbosity``      - the share of its characters that are prose rather than actions;
* ``commands_valid`` - its shell commands exist in the prompt's OS/shell
                       (``training.environment.shell_check``).

``signal_features`` turns them into the fixed-length vector the scikit-learn baseline reads.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from training.environment.actions import EditAction, SearchAction, ShellAction, parse_response
from training.environment.platforms import COMBOS, context_line
from training.environment.shell_check import check_command
from training.environment.style import follows_conventions, reuses_helper

_DEFINED = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.M)
_IMPORTED = re.compile(r"\bimports?\s+([A-Za-z_]\w*)\s+from\b|\bfrom\s+\w+\s+import\s+([A-Za-z_]\w*)")
_BLOCK_OPENER = re.compile(r":\s*$")


@dataclass(frozen=True)
class BestPractice:
    style_kept: bool | None
    """None: no code in the response, or no conventions visible in the prompt."""
    helper_reused: bool | None
    """None: no code in the response, or no helper in the prompt."""
    verbosity: float
    """Share of the response's characters outside its actions, in [0, 1]."""
    commands_valid: float | None
    """Share of shell commands valid in the prompt's OS/shell; None without both."""


def prompt_conventions(prompt: str) -> tuple[str | None, int | None]:
    """(naming, indent unit) of the code the prompt shows: ("camel" | "snake" | None, 2 | 4 | None)."""
    names = _DEFINED.findall(prompt)
    naming = None
    if any(re.search(r"[a-z][A-Z]", name) for name in names):
        naming = "camel"
    elif any("_" in name.strip("_") for name in names):
        naming = "snake"
    indent = None
    lines = prompt.split("\n")
    for opener, body in zip(lines, lines[1:]):
        if _DEFINED.match(opener) and _BLOCK_OPENER.search(opener):
            width = len(body) - len(body.lstrip(" "))
            if width > 0:
                indent = width if indent is None else min(indent, width)
    return naming, indent


def prompt_helpers(prompt: str) -> tuple[str, ...]:
    """Functions the prompt defines or says are imported (the helpers a response should reuse)."""
    names = set(_DEFINED.findall(prompt))
    for imported in _IMPORTED.findall(prompt):
        names.update(name for name in imported if name)
    return tuple(sorted(names))


def prompt_platform(prompt: str) -> tuple[str, str] | None:
    """The (os, shell) the prompt names with the environment's context line, if any."""
    for os, shell in COMBOS:
        if context_line(os, shell) in prompt:
            return os, shell
    return None


def response_code(response: str) -> str | None:
    """The code the response writes (its edit blocks, joined), or None."""
    blocks = [action.code for action in parse_response(response) if isinstance(action, EditAction) and action.code]
    return "\n\n".join(blocks) if blocks else None


def verbosity(response: str) -> float:
    """Share of characters that are not the payload of an action (commands, queries, code)."""
    total = len(response.strip())
    if total == 0:
        return 0.0
    useful = 0
    for action in parse_response(response):
        if isinstance(action, ShellAction):
            useful += len(action.command) + 2
        elif isinstance(action, SearchAction):
            useful += len(action.query) + 8
        elif isinstance(action, EditAction):
            useful += len(action.code or "") + 12
        else:
            useful += len(str(getattr(action, "path", "") or getattr(action, "arguments", ""))) + 6
    return max(0.0, 1.0 - useful / total)


def best_practice(prompt: str, response: str) -> BestPractice:
    code = response_code(response)
    naming, indent = prompt_conventions(prompt)
    style = None
    if code is not None and naming is not None and indent is not None:
        style = follows_conventions(code, naming=naming, indent=indent)
    helpers = prompt_helpers(prompt)
    reused = None
    if code is not None and helpers:
        reused = any(reuses_helper(code, helper) for helper in helpers)
    commands = [action.command for action in parse_response(response) if isinstance(action, ShellAction)]
    platform = prompt_platform(prompt)
    valid = None
    if commands and platform is not None:
        os, shell = platform
        valid = sum(check_command(command, os=os, shell=shell).ok for command in commands) / len(commands)
    return BestPractice(style_kept=style, helper_reused=reused, verbosity=verbosity(response), commands_valid=valid)


FEATURE_NAMES: tuple[str, ...] = (
    "style_kept", "style_broken", "helper_reused", "helper_missed", "verbosity",
    "commands_valid", "commands_invalid", "log_chars", "actions", "has_code", "comment_lines",
)


LENGTH_FEATURES: tuple[str, ...] = ("verbosity", "log_chars", "comment_lines")
"""Features that measure how much a response says rather than what it does. A length-controlled
reward model never pays for them (``BaselineConfig.length_controlled``)."""


def _tri(value: bool | None) -> tuple[float, float]:
    return (1.0 if value else 0.0, 1.0 if value is False else 0.0)


def log_chars(response: str) -> float:
    """log(1 + characters): the response length both reward models read and control for."""
    return math.log1p(len(response))


def signal_features(prompt: str, response: str) -> np.ndarray:
    """Feature vector of one (prompt, response), ordered as ``FEATURE_NAMES``. Shape: (F,)."""
    signals = best_practice(prompt, response)
    code = response_code(response) or ""
    valid = signals.commands_valid
    return np.array([
        *_tri(signals.style_kept),
        *_tri(signals.helper_reused),
        signals.verbosity,
        0.0 if valid is None else valid,
        0.0 if valid is None else 1.0 - valid,
        log_chars(response),
        float(len(parse_response(response))),
        float(bool(code)),
        float(sum(1 for line in code.split("\n") if line.strip().startswith("#"))),
    ], dtype=np.float64)


def signal_matrix(prompts: list[str], responses: list[str]) -> np.ndarray:
    """Stacked ``signal_features``. Shape: (N, F)."""
    if not prompts:
        return np.zeros((0, len(FEATURE_NAMES)))
    return np.stack([signal_features(p, r) for p, r in zip(prompts, responses)])
