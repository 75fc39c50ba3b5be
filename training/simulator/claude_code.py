"""The simulator's telemetry as Claude Code exports it: OTLP log records (opentelemetry-proto).

Claude Code (``CLAUDE_CODE_ENABLE_TELEMETRY=1``, ``OTEL_LOGS_EXPORTER=otlp``) emits, per
session process, log records named ``claude_code.<event>`` with an unprefixed ``event.name``
attribute, ``session.id``, ``user.id``, ``prompt.id``, ``event.timestamp`` and
``event.sequence``, under a resource with ``service.name=claude-code``,
``service.version`` and ``os.type``. Of the facts the simulator produces it carries:

==========================  ===================================================================
Flywheel event              Claude Code log record
==========================  ===================================================================
``llm.usage``               ``api_request``: model, input_tokens, output_tokens,
                            cache_read_tokens, cache_creation_tokens, duration_ms, request_id
``tool.call``               ``tool_result``: tool_name (Bash, Edit, Read, Grep), tool_use_id,
                            success "true"/"false", duration_ms, error_type + error (worded as
                            the shell would, so Flywheel infers the same error kind),
                            tool_parameters (JSON)
``suggestion.accepted``,    ``tool_decision`` of the Edit tool: decision accept/reject, source
``suggestion.rejected``     user_temporary/user_reject, tool_use_id, language
==========================  ===================================================================

Claude Code exports no exit code and no edit sizes (Flywheel stores lines = chars = 0 for its
decisions), and nothing for suggestions shown, retention, task outcome or ratings: a Claude
Code user's plugin-side facts (``suggestion.shown``, ``code.retention``, ``task.finished``,
``feedback``) still go to ``POST /api/v1/events``, as a Flywheel hook next to Claude Code
would send them. Flywheel-specific attributes carry what the simulator must keep:
``flywheel.event_id`` (so ids survive the mapping), ``flywheel.shell`` and, on the resource,
``flywheel.model`` / ``flywheel.model_version``.

``claude_code_stored`` says what Flywheel makes of each record (``telemetry.otlp``'s
mapping), so the ground truth of an OTLP run is computed from exactly what is stored.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

CLAUDE_CODE_EVENTS: dict[str, str] = {
    "llm.usage": "api_request",
    "tool.call": "tool_result",
    "suggestion.accepted": "tool_decision",
    "suggestion.rejected": "tool_decision",
}
"""Flywheel event types Claude Code exports, and the log event carrying each."""
TOOL_NAMES: dict[str, str] = {"shell": "Bash", "edit_file": "Edit", "read_file": "Read", "search": "Grep"}
ERROR_REPORTS: dict[str, tuple[str, str]] = {
    "invalid_for_shell": ("ShellError", "'{command}' is not recognized as an internal or external command"),
    "nonzero_exit": ("ShellError", "Exit code {exit_code}"),
    "timeout": ("ShellError", "Command timed out after 120000ms"),
    "permission": ("PermissionError", "EACCES: permission denied, open '{argument}'"),
    "unknown_tool": ("ToolError", "No such tool available: {tool}"),
    "invalid_arguments": ("InputValidationError", "Invalid tool parameters"),
    "other": ("Error", "Tool failed"),
}
"""(error_type, error) Claude Code reports for each failure kind."""
OS_TYPES = {"windows": "windows", "macos": "darwin", "linux": "linux"}
SCOPE = InstrumentationScope(name="com.anthropic.claude_code.events", version="2.1.214")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def carried_by_claude_code(event: dict[str, Any]) -> bool:
    return event["type"] in CLAUDE_CODE_EVENTS


def _any(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    return AnyValue(string_value=str(value))


def _attributes(values: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any(value)) for key, value in values.items() if value is not None]


def unix_nanos(ts: str) -> int:
    """Exact Unix nanoseconds of an ISO timestamp (integer maths: no float rounding)."""
    delta = datetime.fromisoformat(ts) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def claude_tool_name(tool: str) -> str:
    return TOOL_NAMES.get(tool, tool)


def _tool_parameters(tool: str, arguments: str) -> str:
    if tool == "shell":
        return json.dumps({"bash_command": arguments.split(" ", 1)[0], "full_command": arguments}, sort_keys=True)
    return json.dumps({"arguments": arguments}, sort_keys=True)


def _record_attributes(event: dict[str, Any], sequence: int) -> dict[str, Any]:
    payload = event["payload"]
    attrs: dict[str, Any] = {
        "event.name": CLAUDE_CODE_EVENTS[event["type"]],
        "event.timestamp": datetime.fromisoformat(event["ts"]).astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "event.sequence": sequence,
        "session.id": event["session_id"],
        "user.id": event["user"],
        "prompt.id": event["task_id"],
        "terminal.type": "xterm-256color",
        "flywheel.shell": event["client"]["shell"],
        "flywheel.event_id": event["event_id"],
    }
    if event["type"] == "llm.usage":
        attrs.update({
            "model": event["model"]["name"],
            "input_tokens": payload["input_tokens"],
            "output_tokens": payload["output_tokens"],
            "cache_read_tokens": payload.get("cache_read_tokens", 0),
            "cache_creation_tokens": payload.get("cache_write_tokens", 0),
            "duration_ms": payload["latency_ms"],
            "request_id": payload["request_id"],
        })
    elif event["type"] == "tool.call":
        tool = payload["tool"]
        attrs.update({
            "tool_name": claude_tool_name(tool),
            "tool_use_id": payload["call_id"],
            "success": "true" if payload["status"] == "success" else "false",
            "duration_ms": payload["duration_ms"],
            "tool_parameters": _tool_parameters(tool, payload.get("arguments", "")),
        })
        if payload["status"] == "error":
            error_type, message = ERROR_REPORTS[payload["error_kind"]]
            attrs["error_type"] = error_type
            attrs["error"] = message.format(
                command=payload.get("arguments", "").split(" ", 1)[0],
                exit_code=payload.get("exit_code", 1),
                argument=payload.get("arguments", ""),
                tool=tool,
            )
    else:  # suggestion.accepted / suggestion.rejected: the user's decision on the Edit tool
        accepted = event["type"] == "suggestion.accepted"
        attrs.update({
            "tool_name": "Edit",
            "tool_use_id": payload["suggestion_id"],
            "decision": "accept" if accepted else "reject",
            "source": "user_temporary" if accepted else "user_reject",
            "language": event["repo"]["language"],
        })
    return attrs


def claude_code_export(events: Sequence[dict[str, Any]]) -> ExportLogsServiceRequest:
    """One export request: a ResourceLogs per session (one Claude Code process each).

    ``events`` must all be ``carried_by_claude_code``; their order is kept within a session.
    """
    sessions: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if not carried_by_claude_code(event):
            raise ValueError(f"Claude Code does not export {event['type']!r} events")
        sessions.setdefault(event["session_id"], []).append(event)
    resource_logs = []
    for session_events in sessions.values():
        first = session_events[0]
        resource = Resource(attributes=_attributes({
            "service.name": "claude-code",
            "service.version": first["client"]["ide_version"],
            "os.type": OS_TYPES.get(first["client"]["os"], first["client"]["os"]),
            "flywheel.model": first["model"]["name"],
            "flywheel.model_version": first["model"]["version"],
        }))
        records = []
        for sequence, event in enumerate(session_events):
            nanos = unix_nanos(event["ts"])
            record = LogRecord(
                time_unix_nano=nanos,
                observed_time_unix_nano=nanos,
                attributes=_attributes(_record_attributes(event, sequence)),
            )
            record.body.CopyFrom(AnyValue(string_value=f"claude_code.{CLAUDE_CODE_EVENTS[event['type']]}"))
            records.append(record)
        resource_logs.append(ResourceLogs(resource=resource, scope_logs=[ScopeLogs(scope=SCOPE, log_records=records)]))
    return ExportLogsServiceRequest(resource_logs=resource_logs)


def claude_code_stored(event: dict[str, Any]) -> dict[str, Any]:
    """The event Flywheel derives from this event's Claude Code record (before privacy hashing)."""
    payload = event["payload"]
    client = event["client"]
    stored: dict[str, Any] = {
        "event_id": event["event_id"],
        "type": event["type"],
        "ts": datetime.fromisoformat(event["ts"]).astimezone(timezone.utc).isoformat(),
        "session_id": event["session_id"],
        "task_id": event["task_id"],
        "user": event["user"],
        "model": dict(event["model"]),
        "client": {"ide": "claude-code", "ide_version": client["ide_version"], "os": client["os"], "shell": client["shell"]},
    }
    if event["type"] == "llm.usage":
        stored["payload"] = {
            "input_tokens": payload["input_tokens"],
            "output_tokens": payload["output_tokens"],
            "cache_read_tokens": payload.get("cache_read_tokens", 0),
            "cache_write_tokens": payload.get("cache_write_tokens", 0),
            "latency_ms": payload["latency_ms"],
            "request_id": payload["request_id"],
        }
    elif event["type"] == "tool.call":
        stored["payload"] = {
            "tool": claude_tool_name(payload["tool"]),
            "status": payload["status"],
            "call_id": payload["call_id"],
            "duration_ms": payload["duration_ms"],
            "arguments": _tool_parameters(payload["tool"], payload.get("arguments", "")),
        }
        if payload["status"] == "error":
            stored["payload"]["error_kind"] = payload["error_kind"]
    else:
        stored["repo"] = {"language": event["repo"]["language"]}
        stored["payload"] = {"suggestion_id": payload["suggestion_id"]}
        if event["type"] == "suggestion.accepted":
            stored["payload"].update(lines=0, chars=0)
    return stored


def split_for_claude_code(events: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(events Claude Code exports over OTLP, events that still go to /api/v1/events)."""
    otlp, json_events = [], []
    for event in events:
        (otlp if carried_by_claude_code(event) else json_events).append(event)
    return otlp, json_events
