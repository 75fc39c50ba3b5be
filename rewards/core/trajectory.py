"""One trajectory format in, whatever produced it (DESIGN.md "Trajectories").

A payload is a JSON object with either

* ``prompt`` (text, or chat messages) and ``response`` (text in the coding environment's
  action format: ``$ cmd``, ``search:``, ``read:``, ``edit:`` + fenced block, ``@tool``), or
* ``messages``: OpenAI chat messages; assistant messages may carry ``tool_calls``
  (``{"id", "type": "function", "function": {"name", "arguments": "<JSON>"}}``) and
  ``tool`` messages the results,

plus optional ``diff`` (unified), ``tests`` (``{"passed", "total"}``), ``usage``
(``{"output_tokens"}`` or OpenAI's ``{"completion_tokens"}``) and ``task`` (an environment
task id, or ``{"task_id": ...}``).

``parse_trajectory`` validates and raises ``TrajectoryError`` naming the field.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rewards.core.tools import ToolArgumentsError, ToolCall, map_tool_call, map_tool_text
from training.environment.actions import EditAction, ReadAction, SearchAction, ShellAction, UnknownToolAction, parse_response

MAX_TEXT_CHARS = 200_000
MAX_MESSAGES = 1_000


class TrajectoryError(ValueError):
    """A payload that is not a trajectory. ``field`` is a JSON path such as
    ``messages[2].tool_calls[0].function.arguments``; ``too_large`` maps to HTTP 413."""

    def __init__(self, field: str, message: str, *, too_large: bool = False):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.too_large = too_large


@dataclass(frozen=True)
class DiffFile:
    """One file of a unified diff: its paths (None for /dev/null), added and removed lines,
    and the new side of every hunk (context + added lines) for parsing."""

    old_path: str | None
    new_path: str | None
    added: tuple[str, ...]
    removed: tuple[str, ...]
    new_hunks: tuple[str, ...]


@dataclass(frozen=True)
class TestReport:
    passed: int
    total: int


@dataclass(frozen=True)
class Trajectory:
    """A parsed trajectory. ``calls`` are canonical tool calls in order; ``response`` is the
    assistant's text; ``action_text`` is the whole trajectory in the environment's action
    format (what ``training.environment.verify`` replays)."""

    prompt: str
    response: str
    calls: tuple[ToolCall, ...]
    action_text: str
    diff: tuple[DiffFile, ...] = ()
    tests: TestReport | None = None
    output_tokens: int | None = None
    task_id: str | None = None
    tool_results: tuple[str, ...] = field(default=())


def parse_trajectory(payload: Any, *, prefix: str = "") -> Trajectory:
    """Validate ``payload`` and return the Trajectory. Raises TrajectoryError."""
    if not isinstance(payload, Mapping):
        raise TrajectoryError(prefix or "trajectory", "must be a JSON object")
    where = (lambda name: f"{prefix}.{name}" if prefix else name)
    if "messages" in payload:
        prompt, response, calls, results = _from_messages(payload["messages"], where("messages"))
        action_text = render_actions(calls) if calls else response
        if "prompt" in payload:
            prompt = _prompt_text(payload["prompt"], where("prompt")) + ("\n" + prompt if prompt else "")
    else:
        if "prompt" not in payload:
            raise TrajectoryError(where("prompt"), "required (or send 'messages')")
        if "response" not in payload:
            raise TrajectoryError(where("response"), "required (or send 'messages')")
        prompt = _prompt_text(payload["prompt"], where("prompt"))
        response = _string(payload["response"], where("response"))
        calls = calls_from_action_text(response)
        action_text, results = response, ()
    return Trajectory(
        prompt=prompt,
        response=response,
        calls=tuple(calls),
        action_text=action_text,
        diff=parse_unified_diff(_string(payload["diff"], where("diff"))) if payload.get("diff") is not None else (),
        tests=_tests(payload.get("tests"), where("tests")),
        output_tokens=_output_tokens(payload.get("usage"), where("usage")),
        task_id=task_id_of(payload.get("task"), field=where("task")),
        tool_results=tuple(results),
    )


def task_id_of(value: Any, *, field: str = "task") -> str | None:
    """A task id from an id string, a JSON object with ``task_id``, or that object as JSON text."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise TrajectoryError(field, f"looks like JSON but does not decode: {exc}") from None
        else:
            return text
    if isinstance(value, Mapping):
        task_id = value.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            raise TrajectoryError(f"{field}.task_id", "must be a non-empty string")
        return task_id
    raise TrajectoryError(field, "must be a task id string or an object with 'task_id'")


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise TrajectoryError(field, f"must be a string, not {type(value).__name__}")
    if len(value) > MAX_TEXT_CHARS:
        raise TrajectoryError(field, f"{len(value)} characters; at most {MAX_TEXT_CHARS}", too_large=True)
    return value


def _prompt_text(value: Any, field: str) -> str:
    if isinstance(value, str):
        return _string(value, field)
    if isinstance(value, list):
        return "\n".join(_content_text(message.get("content") if isinstance(message, Mapping) else None,
                                       f"{field}[{index}]")
                         for index, message in enumerate(_messages(value, field)))
    raise TrajectoryError(field, "must be a string or a list of chat messages")


def _messages(value: Any, field: str) -> list[Mapping]:
    if not isinstance(value, list):
        raise TrajectoryError(field, "must be a list of chat messages")
    if len(value) > MAX_MESSAGES:
        raise TrajectoryError(field, f"{len(value)} messages; at most {MAX_MESSAGES}", too_large=True)
    for index, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise TrajectoryError(f"{field}[{index}]", "must be an object with 'role'")
        if message.get("role") not in {"system", "developer", "user", "assistant", "tool", "function"}:
            raise TrajectoryError(f"{field}[{index}].role",
                                  "must be one of system, developer, user, assistant, tool")
    return value


def _content_text(content: Any, field: str) -> str:
    """Message content: a string, null, or a list of parts with ``text``."""
    if content is None:
        return ""
    if isinstance(content, str):
        return _string(content, f"{field}.content")
    if isinstance(content, list):
        parts = []
        for index, part in enumerate(content):
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping) and isinstance(part.get("text", ""), str):
                parts.append(part.get("text", ""))
            else:
                raise TrajectoryError(f"{field}.content[{index}]", "must be a string or a {'type','text'} part")
        return _string("\n".join(parts), f"{field}.content")
    raise TrajectoryError(f"{field}.content", "must be a string, a list of parts, or null")


def _from_messages(value: Any, field: str) -> tuple[str, str, list[ToolCall], list[str]]:
    prompt_parts: list[str] = []
    response_parts: list[str] = []
    calls: list[ToolCall] = []
    results: list[str] = []
    for index, message in enumerate(_messages(value, field)):
        where = f"{field}[{index}]"
        role = message["role"]
        text = _content_text(message.get("content"), where)
        if role in {"system", "developer", "user"}:
            prompt_parts.append(text)
        elif role in {"tool", "function"}:
            results.append(text)
        else:
            response_parts.append(text)
            calls.extend(calls_from_action_text(text))
            calls.extend(_tool_calls(message.get("tool_calls"), f"{where}.tool_calls"))
    return "\n".join(p for p in prompt_parts if p), "\n".join(p for p in response_parts if p), calls, results


def _tool_calls(value: Any, field: str) -> list[ToolCall]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TrajectoryError(field, "must be a list")
    calls: list[ToolCall] = []
    for index, call in enumerate(value):
        where = f"{field}[{index}]"
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping):
            raise TrajectoryError(f"{where}.function", "must be an object with 'name' and 'arguments'")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise TrajectoryError(f"{where}.function.name", "must be a non-empty string")
        arguments = function.get("arguments", "{}")
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except (json.JSONDecodeError, RecursionError) as exc:
                raise TrajectoryError(f"{where}.function.arguments", f"is not valid JSON: {exc}") from None
        if not isinstance(arguments, Mapping):
            raise TrajectoryError(f"{where}.function.arguments", "must be a JSON object (or its JSON text)")
        try:
            calls.extend(map_tool_call(name, arguments))
        except ToolArgumentsError as exc:
            raise TrajectoryError(f"{where}.function.arguments", str(exc)) from None
    return calls


def calls_from_action_text(text: str) -> list[ToolCall]:
    """Canonical calls of a text in the environment's action format."""
    calls: list[ToolCall] = []
    for action in parse_response(text):
        if isinstance(action, ShellAction):
            calls.append(ToolCall(kind="shell", tool="shell", command=action.command))
        elif isinstance(action, SearchAction):
            calls.append(ToolCall(kind="search", tool="search", query=action.query))
        elif isinstance(action, ReadAction):
            calls.append(ToolCall(kind="read", tool="read_file", path=action.path))
        elif isinstance(action, EditAction):
            calls.append(ToolCall(kind="edit", tool="edit_file", path=action.path or "", content=action.code or ""))
        elif isinstance(action, UnknownToolAction):
            calls.extend(map_tool_text(action.tool, action.arguments))
    return calls


def render_actions(calls: Sequence[ToolCall]) -> str:
    """Canonical calls in the environment's action format, so its verifier can replay them.

    A replacement edit is applied to the file's content written earlier in the trajectory
    (or stands for the whole file when nothing was written before)."""
    files: dict[str, str] = {}
    lines: list[str] = []
    for call in calls:
        if call.kind == "shell":
            lines.append(f"$ {' '.join(call.command.splitlines())}")
        elif call.kind == "search":
            lines.append(f"search: {call.query}")
        elif call.kind == "read":
            lines.append(f"read: {call.path}")
        elif call.kind == "fetch":
            lines.append(f"@{call.tool} {call.url or call.query}")
        elif call.kind == "edit":
            if call.content is not None:
                body = call.content
            else:
                before = files.get(call.path)
                body = before.replace(call.old or "", call.new or "", 1) if before and call.old else (call.new or "")
            files[call.path] = body
            lines.append(f"edit: {call.path}\n```python\n{body.rstrip()}\n```")
    return "\n".join(lines)


def _tests(value: Any, field: str) -> TestReport | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TrajectoryError(field, "must be an object {'passed': int, 'total': int}")
    numbers = {}
    for name in ("passed", "total"):
        number = value.get(name)
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise TrajectoryError(f"{field}.{name}", "must be a non-negative integer")
        numbers[name] = number
    if numbers["passed"] > numbers["total"]:
        raise TrajectoryError(f"{field}.passed", "cannot exceed total")
    return TestReport(**numbers)


def _output_tokens(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TrajectoryError(field, "must be an object with 'output_tokens' or 'completion_tokens'")
    for name in ("output_tokens", "completion_tokens"):
        if name in value:
            number = value[name]
            if not isinstance(number, int) or isinstance(number, bool) or number < 0:
                raise TrajectoryError(f"{field}.{name}", "must be a non-negative integer")
            return number
    return None


def parse_unified_diff(text: str) -> tuple[DiffFile, ...]:
    """Files of a unified (git) diff. Lines outside file sections are ignored."""
    files: list[DiffFile] = []
    current: dict | None = None

    def close() -> None:
        if current is not None:
            if current["hunk"]:
                current["hunks"].append("\n".join(current["hunk"]))
            files.append(DiffFile(current["old"], current["new"], tuple(current["added"]),
                                  tuple(current["removed"]), tuple(current["hunks"])))

    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith("diff --git ") or (line.startswith("--- ") and (current is None or current["in_hunk"])):
            close()
            current = {"old": None, "new": None, "added": [], "removed": [], "hunks": [], "hunk": [], "in_hunk": False}
            if line.startswith("diff --git "):
                parts = line.split()
                if len(parts) >= 4:
                    current["old"], current["new"] = _diff_path(parts[2]), _diff_path(parts[3])
                continue
        if current is None:
            continue
        if line.startswith("--- ") and not current["in_hunk"]:
            current["old"] = _diff_path(line[4:].split("\t")[0])
        elif line.startswith("+++ ") and not current["in_hunk"]:
            current["new"] = _diff_path(line[4:].split("\t")[0])
        elif line.startswith("deleted file mode"):
            current["new"] = None
        elif line.startswith("rename to "):
            current["new"] = line[len("rename to "):].strip()
        elif line.startswith("rename from "):
            current["old"] = line[len("rename from "):].strip()
        elif line.startswith("@@"):
            if current["hunk"]:
                current["hunks"].append("\n".join(current["hunk"]))
            current["hunk"], current["in_hunk"] = [], True
        elif current["in_hunk"] and line.startswith("+"):
            current["added"].append(line[1:])
            current["hunk"].append(line[1:])
        elif current["in_hunk"] and line.startswith("-"):
            current["removed"].append(line[1:])
        elif current["in_hunk"] and line.startswith(" "):
            current["hunk"].append(line[1:])
    close()
    return tuple(files)


def _diff_path(raw: str) -> str | None:
    raw = raw.strip()
    if raw == "/dev/null":
        return None
    return raw[2:] if raw.startswith(("a/", "b/")) else raw
