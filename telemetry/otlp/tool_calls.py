"""Tool calls as the producers report them: outcome, error kind, duration, arguments."""
from __future__ import annotations

import re
from typing import Any

from telemetry.otlp.common import LABEL_CHARS, SHORT_CHARS, TEXT_CHARS, Attrs, Source, as_bool, as_count, as_number, as_text, is_int, put
from telemetry.schemas import TOOL_ERROR_KINDS


_ERROR_KIND_BY_TYPE: dict[str, str] = {
    "invalid_tool_params": "invalid_arguments",
    "missing_required_param": "invalid_arguments",
    "file_not_found": "invalid_arguments",
    "path_not_in_workspace": "invalid_arguments",
    "target_is_directory": "invalid_arguments",
    "attempt_to_create_existing_file": "invalid_arguments",
    "search_path_not_found": "invalid_arguments",
    "search_path_not_a_directory": "invalid_arguments",
    "edit_no_occurrence_found": "invalid_arguments",
    "edit_expected_occurrence_mismatch": "invalid_arguments",
    "edit_no_change": "invalid_arguments",
    "edit_preparation_failure": "invalid_arguments",
    "tool_not_registered": "unknown_tool",
    "permission_denied": "permission",
    "execution_denied": "permission",
    "shell_execute_error": "nonzero_exit",
    "timeout": "timeout",
}
# Exit codes with which a shell says it did not know the command: POSIX shells 127, cmd.exe 9009.
UNKNOWN_COMMAND_EXIT_CODES = frozenset({127, 9009})
_UNKNOWN_COMMAND_TEXT = ("is not recognized as", "command not found", "the term '", "not a valid cmdlet")
# Free-text rules, first match wins (Claude Code's error_type is e.g. "ShellError", "Error:ENOENT").
_ERROR_KIND_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("invalid_for_shell", _UNKNOWN_COMMAND_TEXT),
    ("unknown_tool", ("no such tool", "unknown tool", "tool not found", "not registered")),
    ("timeout", ("timeout", "timed out", "etimedout", "deadline exceeded")),
    ("permission", ("permission", "eacces", "eperm", "denied", "not allowed", "forbidden")),
    ("nonzero_exit", ("shellerror", "exit code", "exit status", "non-zero", "nonzero", "exited with")),
    ("invalid_arguments", ("inputvalidation", "invalid", "validation", "enoent", "no such file", "not found", "does not exist")),
)
# "Exit Code: 127" (Qwen Code's shell error text), "exit code 2", "exited with code 1".
_EXIT_CODE_IN_TEXT = re.compile(r"exit(?:ed with)?[ _]code:?\s*(-?\d{1,10})\b", re.IGNORECASE)


def tool_error_kind(error_type: Any, error: Any = None, *, exit_code: int | None = None) -> str:
    """Map a producer's error type/message into ``TOOL_ERROR_KINDS`` ("other" when unknown).

    A shell command that ran and exited non-zero is ``nonzero_exit``, or ``invalid_for_shell``
    when the shell did not know the command (exit 127 or 9009, or its "not recognized" text).
    """
    kind_name = error_type.strip().lower() if isinstance(error_type, str) else ""
    text = f"{kind_name} {error.lower() if isinstance(error, str) else ''}"
    kind = _ERROR_KIND_BY_TYPE.get(kind_name) or _kind_from_text(text)
    exit_code = exit_code_in_text(error) if exit_code is None else exit_code
    if exit_code not in (None, 0) and kind == "other":
        kind = "nonzero_exit"
    if kind == "nonzero_exit" and (exit_code in UNKNOWN_COMMAND_EXIT_CODES or any(n in text for n in _UNKNOWN_COMMAND_TEXT)):
        kind = "invalid_for_shell"
    return kind


def _kind_from_text(text: str) -> str:
    for kind, needles in _ERROR_KIND_KEYWORDS:
        if any(needle in text for needle in needles):
            return kind if kind in TOOL_ERROR_KINDS else "other"
    return "other"


def reported_exit_code(attrs: Attrs) -> int | None:
    """The shell's exit code as the producer reports it: Gemini CLI's ``metadata.exitCode``,
    an ``exit_code`` attribute, else the "Exit Code: N" of the error text (Qwen Code)."""
    value = as_count(attrs.own("metadata.exitCode", "metadata.exit_code", "exit_code", "exitCode"))
    if is_int(value):
        return value
    return exit_code_in_text(attrs.own("error", "error.message"))


def exit_code_in_text(error: Any) -> int | None:
    match = _EXIT_CODE_IN_TEXT.search(error) if isinstance(error, str) else None
    return int(match.group(1)) if match else None


def tool_call_payload(source: Source, *, tool: Any, success: Any, call_id: Any) -> dict[str, Any]:
    """The tool.call payload; the outcome as the producer reports it, wherever it puts it.

    Gemini CLI reports a shell command that ran as ``success: true`` whatever its exit code,
    with ``metadata: {"exitCode": 127, "isError": true}``: that call failed.
    """
    attrs = source.attrs
    payload: dict[str, Any] = {}
    put(payload, "tool", as_text(tool, LABEL_CHARS))
    ok = as_bool(success)
    exit_code = reported_exit_code(attrs)
    if ok is True and (as_bool(attrs.own("metadata.isError")) is True or exit_code not in (None, 0)):
        ok = False
    if ok is not None:
        payload["status"] = "success" if ok else "error"
    if ok is False:
        payload["error_kind"] = tool_error_kind(attrs.own("error_type", "error.type"), attrs.own("error", "error.message"), exit_code=exit_code)
    put(payload, "exit_code", exit_code)
    put(payload, "call_id", as_text(call_id, SHORT_CHARS))
    put(payload, "duration_ms", as_number(attrs.own("duration_ms")))
    put(payload, "arguments", as_text(attrs.own("tool_input", "tool_parameters", "function_args", "gen_ai.tool.call.arguments"), TEXT_CHARS))
    return payload
