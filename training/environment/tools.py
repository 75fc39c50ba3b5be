"""Outcomes of the non-shell tools (search, read_file, edit_file, unknown tools)."""
from __future__ import annotations

import re

from training.environment.actions import Action, EditAction, ReadAction, SearchAction, UnknownToolAction
from training.environment.types import ToolCallOutcome

_DRIVE = re.compile(r"^[A-Za-z]:")


def repo_path(path: str) -> str | None:
    """``path`` normalized inside the repository ("a/b.py"), or None when it points outside
    it (absolute, drive-qualified or climbing with "..")."""
    value = path.strip().strip("`'\"").replace("\\", "/")
    while value.startswith("./"):
        value = value[2:]
    parts = value.split("/")
    if value.startswith("/") or _DRIVE.match(value) or ".." in parts:
        return None
    return "/".join(part for part in parts if part not in {"", "."})


def tool_outcome(action: Action, *, target_path: str | None) -> ToolCallOutcome:
    """Outcome of a non-shell action. ``target_path`` resolves an edit without a path."""
    if isinstance(action, SearchAction):
        return _outcome("search", action.query, None if action.query else "invalid_arguments")
    if isinstance(action, ReadAction):
        return _outcome("read_file", action.path, _path_error(action.path))
    if isinstance(action, EditAction):
        path = action.path if action.path is not None else (target_path or "")
        error = _path_error(path) or (None if action.code is not None else "invalid_arguments")
        return _outcome("edit_file", path, error)
    if isinstance(action, UnknownToolAction):
        return _outcome(action.tool, action.arguments, "unknown_tool")
    raise TypeError(f"not a non-shell action: {action!r}")


def _path_error(path: str) -> str | None:
    if not path.strip():
        return "invalid_arguments"
    return "permission" if repo_path(path) is None else None


def _outcome(tool: str, arguments: str, error_kind: str | None) -> ToolCallOutcome:
    return ToolCallOutcome(tool=tool, arguments=arguments, ok=error_kind is None, error_kind=error_kind, exit_code=None)
