"""Parse a response text into the ordered actions it asks for (see the package docstring).

Parsing never fails: lines that are not actions are prose and are ignored, so a verbose
answer and a terse one yield the same actions.
"""
from __future__ import annotations

from dataclasses import dataclass

SHELL_FENCE_LANGUAGES = frozenset(
    {"bash", "sh", "shell", "zsh", "console", "cmd", "bat", "batch", "powershell", "ps1", "pwsh", "ps"}
)
_TOOL_ALIASES = {
    "shell": "shell",
    "search": "search",
    "read": "read_file",
    "read_file": "read_file",
    "edit": "edit_file",
    "edit_file": "edit_file",
}
# Prompt decorations a model may copy from transcripts inside shell fences.
_PROMPT_PREFIXES = ("$ ", "> ", "PS> ", "% ")


@dataclass(frozen=True)
class ShellAction:
    command: str


@dataclass(frozen=True)
class SearchAction:
    query: str


@dataclass(frozen=True)
class ReadAction:
    path: str


@dataclass(frozen=True)
class EditAction:
    """Write ``code`` as the body of ``path``.

    ``path`` is None for a bare fenced block or an empty ``edit:`` (the task's target
    file); ``code`` is None when an ``edit:`` line had no code block after it.
    """

    path: str | None
    code: str | None


@dataclass(frozen=True)
class UnknownToolAction:
    tool: str
    arguments: str


Action = ShellAction | SearchAction | ReadAction | EditAction | UnknownToolAction


def parse_response(text: str) -> tuple[Action, ...]:
    """Return the actions of ``text`` in order of appearance."""
    lines = text.replace("\r\n", "\n").split("\n")
    actions: list[Action] = []
    pending_edit: str | None = None
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        index += 1
        if stripped.startswith("```"):
            language = stripped[3:].strip().lower()
            body, index = _read_fence(lines, index)
            if pending_edit is None and language in SHELL_FENCE_LANGUAGES:
                actions.extend(_shell_fence_actions(body))
            else:
                actions.append(EditAction(path=pending_edit or None, code=body))
            pending_edit = None
            continue
        action, edit_path = _line_action(stripped)
        if action is None and edit_path is None:
            continue
        if pending_edit is not None:
            actions.append(EditAction(path=pending_edit or None, code=None))
            pending_edit = None
        if edit_path is not None:
            pending_edit = edit_path
        elif action is not None:
            actions.append(action)
    if pending_edit is not None:
        actions.append(EditAction(path=pending_edit or None, code=None))
    return tuple(actions)


def _read_fence(lines: list[str], index: int) -> tuple[str, int]:
    """Collect a fenced block's body starting at ``index``; an unclosed fence runs to the end."""
    body: list[str] = []
    while index < len(lines):
        if lines[index].strip().startswith("```"):
            return "\n".join(body), index + 1
        body.append(lines[index])
        index += 1
    return "\n".join(body), index


def _shell_fence_actions(body: str) -> list[Action]:
    actions: list[Action] = []
    for raw in body.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#") or line.upper().startswith("REM ") or line.startswith("::"):
            continue
        for prefix in _PROMPT_PREFIXES:
            if line.startswith(prefix):
                line = line[len(prefix):].strip()
                break
        actions.append(ShellAction(command=line))
    return actions


def _line_action(line: str) -> tuple[Action | None, str | None]:
    """Classify one non-fence line: (action, None), (None, edit path) or (None, None) for prose."""
    if line == "$" or line.startswith("$ "):
        return ShellAction(command=line[1:].strip()), None
    lowered = line.lower()
    if lowered.startswith("search:"):
        return SearchAction(query=line[len("search:"):].strip()), None
    if lowered.startswith("read:"):
        return ReadAction(path=line[len("read:"):].strip()), None
    if lowered.startswith("edit:"):
        return None, line[len("edit:"):].strip()
    if line.startswith("@") and len(line) > 1 and not line[1].isspace():
        return _generic_tool_action(line[1:])
    return None, None


def _generic_tool_action(text: str) -> tuple[Action | None, str | None]:
    tool, _, arguments = text.partition(" ")
    arguments = arguments.strip()
    canonical = _TOOL_ALIASES.get(tool.lower())
    if canonical == "shell":
        return ShellAction(command=arguments), None
    if canonical == "search":
        return SearchAction(query=arguments), None
    if canonical == "read_file":
        return ReadAction(path=arguments), None
    if canonical == "edit_file":
        return None, arguments
    return UnknownToolAction(tool=tool, arguments=arguments), None
