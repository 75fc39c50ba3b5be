"""Tool calls as the producers report them: outcome, error kind, duration, arguments."""
from __future__ import annotations

from typing import Any

from telemetry.otlp.common import SHORT_CHARS, LABEL_CHARS, TEXT_CHARS, Source, as_bool, as_number, as_text, put
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
# Free-text rules, first match wins (Claude Code's error_type is e.g. "ShellError", "Error:ENOENT").
_ERROR_KIND_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("invalid_for_shell", ("is not recognized as", "command not found", "the term '", "not a valid cmdlet")),
    ("unknown_tool", ("no such tool", "unknown tool", "tool not found", "not registered")),
    ("timeout", ("timeout", "timed out", "etimedout", "deadline exceeded")),
    ("permission", ("permission", "eacces", "eperm", "denied", "not allowed", "forbidden")),
    ("nonzero_exit", ("shellerror", "exit code", "exit status", "non-zero", "nonzero", "exited with")),
    ("invalid_arguments", ("inputvalidation", "invalid", "validation", "enoent", "no such file", "not found", "does not exist")),
)


def tool_error_kind(error_type: Any, error: Any = None) -> str:
    """Map a producer's error type/message into ``TOOL_ERROR_KINDS`` ("other" when unknown)."""
    kind_name = error_type.strip().lower() if isinstance(error_type, str) else ""
    if kind_name in _ERROR_KIND_BY_TYPE:
        return _ERROR_KIND_BY_TYPE[kind_name]
    text = f"{kind_name} {error.lower() if isinstance(error, str) else ''}"
    for kind, needles in _ERROR_KIND_KEYWORDS:
        if any(needle in text for needle in needles):
            return kind if kind in TOOL_ERROR_KINDS else "other"
    return "other"


def tool_call_payload(source: Source, *, tool: Any, success: Any, call_id: Any) -> dict[str, Any]:
    attrs = source.attrs
    payload: dict[str, Any] = {}
    put(payload, "tool", as_text(tool, LABEL_CHARS))
    ok = as_bool(success)
    if ok is not None:
        payload["status"] = "success" if ok else "error"
    if ok is False:
        payload["error_kind"] = tool_error_kind(attrs.own("error_type", "error.type"), attrs.own("error", "error.message"))
    put(payload, "call_id", as_text(call_id, SHORT_CHARS))
    put(payload, "duration_ms", as_number(attrs.own("duration_ms")))
    put(payload, "arguments", as_text(attrs.own("tool_input", "tool_parameters", "function_args"), TEXT_CHARS))
    return payload
