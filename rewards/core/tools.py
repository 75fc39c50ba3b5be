"""Map the tool calls agents send to a few canonical actions.

Each agent names its tools its own way; detectors and the verifier only care about what a
call does. ``TOOL_MAPPERS`` is the explicit registry: tool name as the agent sends it ->
function from its JSON arguments to canonical ``ToolCall``s.

* Claude Code: Bash, BashOutput, KillShell, Edit, MultiEdit, Write, Read, NotebookEdit,
  NotebookRead, Grep, Glob, LS, WebFetch, WebSearch, Task, TodoWrite.
* Gemini CLI: run_shell_command, replace, write_file, read_file, read_many_files,
  search_file_content (grep_search in newer releases), glob, list_directory, web_fetch,
  google_web_search, save_memory, write_todos.
* Qwen Code (a Gemini CLI fork): run_shell_command, edit, write_file, read_file,
  read_many_files, grep_search, glob, list_directory, web_fetch, web_search, todo_write.
* The coding environment's own: shell, search, read_file, edit_file (training/environment).
* Codex-style ``shell`` whose ``command`` is an argv list.
"""
from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CANONICAL_KINDS: tuple[str, ...] = ("shell", "edit", "read", "search", "fetch", "other")


@dataclass(frozen=True)
class ToolCall:
    """One canonical action.

    ``kind`` is one of CANONICAL_KINDS. For shell: ``command`` (and ``shell`` when the tool
    fixes the dialect, e.g. a PowerShell tool). For edit: ``path`` and either ``content``
    (the whole new file) or ``old``/``new`` (a replacement). For read: ``path``. For
    search: ``query`` (pattern) and ``path``. For fetch: ``url`` (a URL or a prompt that
    names one) and ``query`` for web searches.
    """

    kind: str
    tool: str
    command: str = ""
    shell: str | None = None
    path: str = ""
    content: str | None = None
    old: str | None = None
    new: str | None = None
    query: str = ""
    url: str = ""


class ToolArgumentsError(ValueError):
    """The arguments of a known tool are not what the tool takes (wrong type)."""


def _text(arguments: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = arguments.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return shlex.join(value)
        raise ToolArgumentsError(f"argument {name!r} must be a string")
    return ""


def _optional_text(arguments: Mapping[str, Any], name: str) -> str | None:
    value = arguments.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ToolArgumentsError(f"argument {name!r} must be a string")
    return value


def _shell(tool: str, arguments: Mapping[str, Any], *, shell: str | None = None) -> list[ToolCall]:
    return [ToolCall(kind="shell", tool=tool, command=_text(arguments, "command", "cmd", "script"), shell=shell)]


def _powershell(tool: str, arguments: Mapping[str, Any]) -> list[ToolCall]:
    return _shell(tool, arguments, shell="powershell")


def _replace(tool: str, arguments: Mapping[str, Any]) -> list[ToolCall]:
    path = _text(arguments, "file_path", "path", "absolute_path")
    return [ToolCall(kind="edit", tool=tool, path=path, old=_optional_text(arguments, "old_string"),
                     new=_optional_text(arguments, "new_string"))]


def _multi_edit(tool: str, arguments: Mapping[str, Any]) -> list[ToolCall]:
    path = _text(arguments, "file_path", "path")
    edits = arguments.get("edits") or []
    if not isinstance(edits, list) or not all(isinstance(edit, Mapping) for edit in edits):
        raise ToolArgumentsError("argument 'edits' must be a list of {old_string, new_string} objects")
    return [ToolCall(kind="edit", tool=tool, path=path, old=_optional_text(edit, "old_string"),
                     new=_optional_text(edit, "new_string")) for edit in edits]


def _write(tool: str, arguments: Mapping[str, Any]) -> list[ToolCall]:
    path = _text(arguments, "file_path", "path", "notebook_path", "absolute_path")
    content = _optional_text(arguments, "content")
    if content is None:
        content = _optional_text(arguments, "code")
    if content is None:
        content = _optional_text(arguments, "new_source")
    return [ToolCall(kind="edit", tool=tool, path=path, content=content or "")]


def _read(tool: str, arguments: Mapping[str, Any]) -> list[ToolCall]:
    paths = arguments.get("paths")
    if isinstance(paths, list):
        return [ToolCall(kind="read", tool=tool, path=str(path)) for path in paths]
    return [ToolCall(kind="read", tool=tool, path=_text(arguments, "file_path", "absolute_path", "path", "notebook_path",
                                                        "dir_path"))]


def _search(tool: str, arguments: Mapping[str, Any]) -> list[ToolCall]:
    return [ToolCall(kind="search", tool=tool, query=_text(arguments, "pattern", "query", "regex"),
                     path=_text(arguments, "path", "dir_path", "include", "glob"))]


def _fetch(tool: str, arguments: Mapping[str, Any]) -> list[ToolCall]:
    return [ToolCall(kind="fetch", tool=tool, url=_text(arguments, "url", "prompt", "uri"),
                     query=_text(arguments, "query"))]


def _other(tool: str, arguments: Mapping[str, Any]) -> list[ToolCall]:
    return [ToolCall(kind="other", tool=tool)]


Mapper = Callable[[str, Mapping[str, Any]], list[ToolCall]]

TOOL_MAPPERS: dict[str, Mapper] = {
    # Claude Code
    "Bash": _shell, "BashOutput": _other, "KillShell": _other, "KillBash": _other,
    "PowerShell": _powershell,
    "Edit": _replace, "MultiEdit": _multi_edit, "Write": _write, "NotebookEdit": _write,
    "Read": _read, "NotebookRead": _read, "LS": _read,
    "Grep": _search, "Glob": _search,
    "WebFetch": _fetch, "WebSearch": _fetch,
    "Task": _other, "TodoWrite": _other, "ExitPlanMode": _other, "SlashCommand": _other,
    # Gemini CLI and Qwen Code
    "run_shell_command": _shell,
    "replace": _replace, "edit": _replace,
    "write_file": _write,
    "read_file": _read, "read_many_files": _read, "list_directory": _read,
    "search_file_content": _search, "grep": _search, "grep_search": _search, "glob": _search,
    "web_fetch": _fetch, "google_web_search": _fetch, "web_search": _fetch,
    "save_memory": _other, "write_todos": _other, "todo_write": _other, "task": _other,
    # The coding environment (training/environment) and Codex-style shells
    "shell": _shell, "bash": _shell, "execute_command": _shell, "terminal": _shell,
    "search": _search, "edit_file": _write,
    "fetch": _fetch, "browse": _fetch, "browser": _fetch, "http": _fetch, "curl": _fetch,
    "download": _fetch, "open_url": _fetch,
}
_BY_LOWER = {name.lower(): mapper for name, mapper in TOOL_MAPPERS.items()}


def map_tool_call(tool: str, arguments: Mapping[str, Any]) -> list[ToolCall]:
    """Canonical calls for one agent tool call. Unknown tools map to kind "other".

    Raises ToolArgumentsError when a known tool's arguments have the wrong types.
    """
    mapper = TOOL_MAPPERS.get(tool) or _BY_LOWER.get(tool.lower()) or _other
    return mapper(tool, arguments)


def map_tool_text(tool: str, arguments: str) -> list[ToolCall]:
    """An ``@tool arguments`` line of the environment's action format (free text arguments)."""
    mapper = TOOL_MAPPERS.get(tool) or _BY_LOWER.get(tool.lower()) or _other
    if mapper in (_shell, _powershell):
        return mapper(tool, {"command": arguments})
    if mapper is _fetch:
        return [ToolCall(kind="fetch", tool=tool, url=arguments)]
    if mapper is _search:
        return [ToolCall(kind="search", tool=tool, query=arguments)]
    if mapper is _read:
        return [ToolCall(kind="read", tool=tool, path=arguments)]
    return [ToolCall(kind="other", tool=tool)]
