"""Process terms judged from a unified diff when no environment task is known.

The repo's conventions are read from the lines the change did not write (context and
removed lines of its Python files): naming (snake_case or camelCase, as the environment's
``style`` checks) and the indent unit. The added code keeps the style when its names follow
that naming and its indentation is a multiple of the unit. It reuses the repo's helpers
when it calls a function the surrounding code defines or imports, and does not when it
defines one of those again. Either is None when the diff says too little.
"""
from __future__ import annotations

import ast
import re
import textwrap

from rewards.core.trajectory import DiffFile
from training.environment.python_source import parse_answer
from training.environment.style import NAMING_PATTERNS, defined_names

_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(")
_IMPORT = re.compile(r"^\s*from\s+[\w.]+\s+import\s+(.+)$")


def _python_files(diff: tuple[DiffFile, ...]) -> list[DiffFile]:
    return [f for f in diff if (f.new_path or "").endswith(".py") and f.added]


def _untouched_lines(diff_file: DiffFile) -> list[str]:
    added = set(diff_file.added)
    context = [line for hunk in diff_file.new_hunks for line in hunk.split("\n") if line not in added]
    return context + list(diff_file.removed)


def repo_naming(lines: list[str]) -> str | None:
    """"camel" or "snake" from the names the repo's code defines; None when undecidable."""
    names = [m.group(1) for line in lines if (m := _DEF.match(line))]
    names += [m.group(1) for line in lines if (m := re.match(r"^\s*([A-Za-z_]\w*)\s*=[^=]", line))]
    camel = any(re.search(r"[a-z][A-Z]", name) for name in names)
    snake = any("_" in name.strip("_") for name in names)
    if camel == snake:
        return None
    return "camel" if camel else "snake"


def repo_indent(lines: list[str]) -> int | None:
    widths = {len(line) - len(line.lstrip(" ")) for line in lines if line.strip() and line.startswith(" ")}
    return min(widths) if widths else None


def _added_tree(diff_file: DiffFile) -> ast.AST | None:
    """The added lines as a module; None when they are not whole statements."""
    return parse_answer(textwrap.dedent("\n".join(diff_file.added)))


def diff_style_kept(diff: tuple[DiffFile, ...]) -> bool | None:
    verdicts = []
    for diff_file in _python_files(diff):
        lines = _untouched_lines(diff_file)
        naming, indent = repo_naming(lines), repo_indent(lines)
        tree = _added_tree(diff_file)
        if naming is None or indent is None or tree is None:
            continue
        pattern = NAMING_PATTERNS[naming]
        allowed = re.compile(r"^(_|[A-Z][A-Z0-9_]*|__\w+__)$")
        names_ok = all(allowed.match(n) or pattern.match(n) for n in defined_names(tree))
        widths = [len(line) - len(line.lstrip(" ")) for line in diff_file.added if line.strip()]
        indent_ok = all(width % indent == 0 for width in widths) and not any("\t" in line[:8] for line in diff_file.added)
        verdicts.append(names_ok and indent_ok)
    return all(verdicts) if verdicts else None


def diff_helpers_reused(diff: tuple[DiffFile, ...]) -> bool | None:
    verdicts = []
    for diff_file in _python_files(diff):
        lines = _untouched_lines(diff_file)
        helpers = {m.group(1) for line in lines if (m := _DEF.match(line))}
        for line in lines:
            match = _IMPORT.match(line)
            if match:
                helpers.update(part.split(" as ")[-1].strip(" ()") for part in match.group(1).split(","))
        tree = _added_tree(diff_file)
        if not helpers or tree is None:
            continue
        redefined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))} & helpers
        called = {n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", "")
                  for n in ast.walk(tree) if isinstance(n, ast.Call)} & helpers
        if redefined:
            verdicts.append(False)
        elif called:
            verdicts.append(True)
    return all(verdicts) if verdicts else None
