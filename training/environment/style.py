"""Static checks of submitted code against a repository's conventions, with ``ast``.

* naming: every function, parameter and assigned name follows the repo's convention
  (snake_case or camelCase; single lowercase words satisfy both; ALL_CAPS constants and
  ``_`` are always allowed);
* indentation: spaces only, each block exactly one indent unit deeper than its parent;
* helper reuse: the repo's helper is called and not redefined.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize

from training.environment.python_source import parse_answer

NAMING_PATTERNS = {
    "snake": re.compile(r"^_?[a-z][a-z0-9_]*$"),
    "camel": re.compile(r"^_?[a-z][a-zA-Z0-9]*$"),
}
_ALWAYS_ALLOWED = re.compile(r"^(_|[A-Z][A-Z0-9_]*|__\w+__)$")


def follows_conventions(code: str, *, naming: str, indent: int) -> bool:
    """True when ``code`` parses and both naming and indentation follow the repo.

    Precondition: ``naming`` is "snake" or "camel"; ``indent`` is the repo's unit (2 or 4).
    """
    tree = parse_answer(code)
    if tree is None:
        return False
    return names_follow(tree, naming) and indentation_follows(code, indent)


def defined_names(tree: ast.AST) -> list[str]:
    """Names the code introduces: functions, parameters, assignment and loop targets."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.append(node.name)
            arguments = node.args
            for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                             arguments.vararg, arguments.kwarg):
                if argument is not None:
                    names.append(argument.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
    return names


def names_follow(tree: ast.AST, naming: str) -> bool:
    pattern = NAMING_PATTERNS[naming]
    return all(_ALWAYS_ALLOWED.match(name) or pattern.match(name) for name in defined_names(tree))


def indentation_follows(code: str, indent: int) -> bool:
    """Every INDENT token is spaces only and exactly ``indent`` deeper than its parent."""
    widths = [0]
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.INDENT:
                if "\t" in token.string or len(token.string) != widths[-1] + indent:
                    return False
                widths.append(len(token.string))
            elif token.type == tokenize.DEDENT:
                widths.pop()
    except (tokenize.TokenError, IndentationError):
        return False
    return True


def reuses_helper(code: str, helper: str) -> bool:
    """True when ``helper`` is called (``helper(...)`` or ``module.helper(...)``) and the
    code does not define its own function of that name."""
    tree = parse_answer(code)
    if tree is None:
        return False
    redefined = any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == helper for node in ast.walk(tree)
    )
    return not redefined and any(_calls(node, helper) for node in ast.walk(tree))


def _calls(node: ast.AST, helper: str) -> bool:
    if not isinstance(node, ast.Call):
        return False
    function = node.func
    return (isinstance(function, ast.Name) and function.id == helper) or (
        isinstance(function, ast.Attribute) and function.attr == helper
    )
