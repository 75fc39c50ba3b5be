"""Read Python source the way the detectors need: constant strings (with concatenation,
``join``, ``bytes.fromhex``/``b64decode`` folded), the shell commands it runs, the URLs
and hosts it reaches, and the files it writes or deletes."""
from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache

from rewards.core.detectors.decode import decode_any, decode_base64
from training.environment.python_source import parse_answer

_RUNNERS = frozenset({"system", "popen", "run", "call", "check_call", "check_output", "Popen", "getoutput",
                      "getstatusoutput", "spawnl", "spawnlp", "execl", "execlp", "execv", "execvp"})
_WRITERS = frozenset({"write_text", "write_bytes", "unlink", "rmdir", "remove", "rename", "replace", "rmtree",
                      "move", "copy", "copyfile", "copy2", "touch"})


@lru_cache(maxsize=256)
def parse_python(code: str) -> ast.Module | None:
    """The module of ``code``, or of its dedented form; None when it is not Python.

    Cached: the same source reaches several detectors. Callers must not modify the tree."""
    for candidate in (code, textwrap.dedent(code)):
        tree = parse_answer(candidate)
        if tree is not None:
            return tree
    return None


def constant_text(node: ast.AST) -> str | None:
    """The string an expression always evaluates to, folding the usual obfuscations."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        value = node.value
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = constant_text(node.left), constant_text(node.right)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [constant_text(value.value) if isinstance(value, ast.FormattedValue) else constant_text(value)
                 for value in node.values]
        return "".join(parts) if all(part is not None for part in parts) else None
    if isinstance(node, ast.Call):
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        if name == "join" and isinstance(function, ast.Attribute) and node.args:
            separator = constant_text(function.value)
            items = node.args[0]
            if separator is not None and isinstance(items, (ast.List, ast.Tuple)):
                parts = [constant_text(item) for item in items.elts]
                if all(part is not None for part in parts):
                    return separator.join(parts)
        if name in {"b64decode", "standard_b64decode", "urlsafe_b64decode", "decodebytes"} and node.args:
            inner = constant_text(node.args[0])
            return decode_base64(inner, min_length=1) if inner is not None else None
        if name in {"fromhex", "unhexlify", "a2b_hex"} and node.args:
            inner = constant_text(node.args[0])
            return decode_any(inner) if inner is not None else None
        if name == "decode" and isinstance(function, ast.Attribute):
            return constant_text(function.value)
        if name in {"chr"} and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, int):
            return chr(node.args[0].value) if 0 <= node.args[0].value < 0x110000 else None
        if name == "reversed" or (isinstance(function, ast.Attribute) and function.attr == "__reversed__"):
            return None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        inner = constant_text(node.value)
        step = node.slice.step
        if inner is not None and isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub):
            return inner[::-1]
    return None


def call_name(node: ast.Call) -> str:
    """Dotted name of the called function: ``subprocess.run``, ``open``, ``Path(...).unlink``."""
    parts: list[str] = []
    function: ast.AST = node.func
    while isinstance(function, ast.Attribute):
        parts.append(function.attr)
        function = function.value
    if isinstance(function, ast.Name):
        parts.append(function.id)
    elif isinstance(function, ast.Call):
        parts.append(call_name(function) + "()")
    return ".".join(reversed(parts))


@dataclass(frozen=True)
class PythonFacts:
    """What a piece of Python does that the detectors care about."""

    strings: tuple[str, ...]
    commands: tuple[str, ...]
    file_changes: tuple[tuple[str, str, str | None], ...]  # (operation, path, content written or rename target)
    calls: tuple[str, ...]


@lru_cache(maxsize=256)
def python_facts(code: str) -> PythonFacts | None:
    """Facts of ``code``; None when it does not parse."""
    tree = parse_python(code)
    if tree is None:
        return None
    variables: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = constant_text(node.value)
            if value is not None:
                variables[node.targets[0].id] = value
    strings: list[str] = []
    commands: list[str] = []
    changes: list[tuple[str, str, str | None]] = []
    calls: list[str] = []

    def text_of(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name) and node.id in variables:
            return variables[node.id]
        if isinstance(node, (ast.List, ast.Tuple)):
            parts = [text_of(item) for item in node.elts]
            return " ".join(part for part in parts if part is not None) if parts else None
        return constant_text(node)

    for node in ast.walk(tree):
        if isinstance(node, (ast.Constant, ast.BinOp, ast.JoinedStr, ast.Call)):
            value = constant_text(node)
            if value:
                strings.append(value)
        if not isinstance(node, ast.Call):
            continue
        name = call_name(node)
        calls.append(name)
        last = name.rsplit(".", 1)[-1]
        first_argument = text_of(node.args[0]) if node.args else None
        if last in _RUNNERS and first_argument and name.split(".")[0] in {"os", "subprocess", "commands", "sp", "pty"}:
            commands.append(first_argument)
        elif last in {"exec", "eval"} and first_argument:
            strings.append(first_argument)
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        if last == "write" and isinstance(receiver, ast.Call) and call_name(receiver).rsplit(".", 1)[-1] == "open":
            continue  # recorded with its open() below
        if last == "open" and first_argument:
            mode = text_of(node.args[1]) if len(node.args) > 1 else next(
                (text_of(k.value) for k in node.keywords if k.arg == "mode"), "r")
            if mode and any(flag in mode for flag in "wax+"):
                changes.append(("write", first_argument, _written_by_open(tree, node, text_of)))
        elif last in _WRITERS:
            target = first_argument
            content = text_of(node.args[0]) if node.args and last in {"write_text", "write_bytes"} else None
            if isinstance(receiver, ast.Call) and receiver.args:
                target, content = text_of(receiver.args[0]), first_argument if last.startswith("write") else None
            if last in {"rename", "replace", "move"} and len(node.args) > 1:
                content = text_of(node.args[1])
            elif last in {"rename", "replace"} and node.args and isinstance(receiver, ast.Call):
                content = first_argument
            if target:
                changes.append((last, target, content))
    return PythonFacts(tuple(strings), tuple(commands), tuple(changes), tuple(calls))


def _written_by_open(tree: ast.AST, open_call: ast.Call, text_of) -> str | None:
    """The constant written through ``open(...).write(X)`` or ``with open(...) as f: f.write(X)``."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "write"
                and node.args):
            continue
        receiver = node.func.value
        if receiver is open_call or isinstance(receiver, ast.Name):
            return text_of(node.args[0])
    return None


_URL = re.compile(r"\b([a-z][a-z0-9+.-]*)://(\[[0-9a-f:.]+\]|[^/\s'\"<>:)\[]+)", re.IGNORECASE)


def urls_in(text: str) -> list[tuple[str, str]]:
    """(url, host) for every scheme://host in ``text``."""
    return [(match.group(0), match.group(2).rsplit("@", 1)[-1].strip("[]").lower()) for match in _URL.finditer(text)]
