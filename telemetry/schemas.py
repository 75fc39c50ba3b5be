"""Event schema v1: the JSON Schema every ingested event must satisfy, and its validator.

The schema is the contract with IDE plugins and agent CLIs; it is served at
``/api/schema/events-v1.json`` and embedded in the OpenAPI document at ``/api/schema/``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_VERSION = "1"

EVENT_TYPES: tuple[str, ...] = (
    "suggestion.shown",
    "suggestion.accepted",
    "suggestion.rejected",
    "code.retention",
    "tool.call",
    "llm.usage",
    "llm.completion",
    "task.finished",
    "feedback",
)
OPERATING_SYSTEMS: tuple[str, ...] = ("windows", "macos", "linux", "other")
TOOL_ERROR_KINDS: tuple[str, ...] = (
    "invalid_arguments",
    "unknown_tool",
    "nonzero_exit",
    "timeout",
    "permission",
    "invalid_for_shell",
    "other",
)
TASK_OUTCOMES: tuple[str, ...] = ("success", "failure", "abandoned")

_short = {"type": "string", "minLength": 1, "maxLength": 128}
_label = {"type": "string", "maxLength": 64}
_count = {"type": "integer", "minimum": 0, "maximum": 10**9}
_text = {"type": "string", "maxLength": 200_000}
# OpenAI chat messages, as agent frameworks log them (``llm.completion`` prompt and response).
_tool_call = {
    "type": "object",
    "required": ["function"],
    "properties": {
        "id": _short,
        "type": {"enum": ["function"]},
        "function": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 128}, "arguments": _text},
        },
    },
}
_message = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": {"oneOf": [
            _text,
            {"type": "null"},
            {"type": "array", "maxItems": 256, "items": {"type": "object", "properties": {"type": _label, "text": _text}}},
        ]},
        "name": _label,
        "tool_calls": {"type": "array", "maxItems": 128, "items": _tool_call},
        "tool_call_id": _short,
    },
}
_text_or_messages = {"oneOf": [_text, {"type": "array", "minItems": 1, "maxItems": 512, "items": _message}]}

PAYLOAD_SCHEMAS: dict[str, dict[str, Any]] = {
    "suggestion.shown": {
        "type": "object",
        "required": ["suggestion_id"],
        "properties": {"suggestion_id": _short, "lines": _count, "chars": _count, "code": _text, "request_id": _short},
    },
    "suggestion.accepted": {
        "type": "object",
        "required": ["suggestion_id", "lines", "chars"],
        "properties": {"suggestion_id": _short, "lines": _count, "chars": _count, "code": _text, "request_id": _short},
    },
    "suggestion.rejected": {
        "type": "object",
        "required": ["suggestion_id"],
        "properties": {"suggestion_id": _short, "lines": _count, "chars": _count, "code": _text, "request_id": _short},
    },
    "code.retention": {
        "type": "object",
        "description": (
            "Either the client's own count (retained_chars of total_chars still present) or the "
            "inserted text and the later file content, from which the server computes it."
        ),
        "required": ["suggestion_id", "elapsed_s"],
        "properties": {
            "suggestion_id": _short,
            "elapsed_s": {"type": "number", "minimum": 0, "maximum": 30 * 86400},
            "retained_chars": _count,
            "total_chars": _count,
            "original_content": _text,
            "current_content": _text,
        },
        # A count is a pair: a total alone (or a retained count alone) measures nothing.
        "dependentRequired": {"total_chars": ["retained_chars"], "retained_chars": ["total_chars"]},
        "oneOf": [
            {"required": ["retained_chars", "total_chars"], "not": {"required": ["original_content"]}},
            {"required": ["original_content", "current_content"], "not": {"required": ["retained_chars"]}},
        ],
    },
    "tool.call": {
        "type": "object",
        "required": ["tool", "status"],
        "properties": {
            "tool": {"type": "string", "minLength": 1, "maxLength": 64},
            "call_id": _short,
            "request_id": _short,
            "status": {"enum": ["success", "error"]},
            "error_kind": {"enum": list(TOOL_ERROR_KINDS)},
            "exit_code": {"type": "integer"},
            "duration_ms": {"type": "number", "minimum": 0},
            "arguments": _text,
        },
        "if": {"properties": {"status": {"const": "error"}}},
        "then": {"required": ["error_kind"]},
    },
    "llm.usage": {
        "type": "object",
        "required": ["input_tokens", "output_tokens"],
        "properties": {
            "input_tokens": _count,
            "output_tokens": _count,
            "cache_read_tokens": _count,
            "cache_write_tokens": _count,
            "latency_ms": {"type": "number", "minimum": 0},
            "request_id": _short,
        },
    },
    "llm.completion": {
        "type": "object",
        "description": (
            "One model request and its answer. request_id joins it to the llm.usage, tool.call and "
            "suggestion.* events it caused; stored under the org's content capture. Producers that log "
            "the prompt and the answer separately (OTLP) send two events with the same request_id."
        ),
        "required": ["request_id"],
        "if": {"not": {"required": ["prompt"]}},
        "then": {"required": ["response"]},
        "properties": {
            "request_id": _short,
            "prompt": _text_or_messages,
            "response": _text_or_messages,
            "finish_reason": _label,
            "suggestion_ids": {"type": "array", "maxItems": 1000, "items": _short},
        },
    },
    "task.finished": {
        "type": "object",
        "required": ["outcome"],
        "properties": {"outcome": {"enum": list(TASK_OUTCOMES)}, "turns": _count},
    },
    "feedback": {
        "type": "object",
        "required": ["rating"],
        "properties": {"rating": {"enum": ["up", "down"]}, "comment": {"type": "string", "maxLength": 10_000}},
    },
}

EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://flywheel.dev/schemas/event-v1.json",
    "title": "Flywheel telemetry event v1",
    "type": "object",
    "required": ["event_id", "type", "ts", "session_id", "model", "payload"],
    "additionalProperties": False,
    "properties": {
        "event_id": {"type": "string", "format": "uuid", "description": "Client-generated; the idempotency key."},
        "type": {"enum": list(EVENT_TYPES)},
        "ts": {"type": "string", "format": "date-time"},
        "session_id": _short,
        "task_id": _short,
        "user": {"type": "string", "maxLength": 256, "description": "Opaque; hashed with a per-org salt."},
        "client": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "ide": _label,
                "ide_version": _label,
                "os": {"enum": list(OPERATING_SYSTEMS)},
                "shell": {"type": "string", "maxLength": 32},
            },
        },
        "model": {
            "type": "object",
            "required": ["name", "version"],
            "additionalProperties": False,
            "properties": {"name": _short, "version": _short},
        },
        "repo": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"id": _short, "language": _label},
        },
        "payload": {"type": "object"},
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": event_type}}, "required": ["type"]},
            "then": {"properties": {"payload": payload_schema}},
        }
        for event_type, payload_schema in PAYLOAD_SCHEMAS.items()
    ],
}

_format_checker = FormatChecker()


@_format_checker.checks("date-time", raises=(ValueError, OverflowError))
def _is_date_time(value: Any) -> bool:
    """RFC 3339 with an offset, representable in UTC (jsonschema skips date-time without rfc3339-validator)."""
    if not isinstance(value, str):
        return True
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a date-time needs a UTC offset")
    moment.astimezone(timezone.utc)  # years 1 and 9999 with an offset overflow once stored as UTC
    return True


_jsonschema_is_uuid = FormatChecker().checkers["uuid"][0]
_CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@_format_checker.checks("uuid", raises=ValueError)
def _is_uuid(value: Any) -> bool:
    """jsonschema's own uuid rule, answered without parsing for the canonical form clients send
    (which that rule accepts); anything else still goes to it."""
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return True
    return _jsonschema_is_uuid(value)


_validator = Draft202012Validator(EVENT_SCHEMA, format_checker=_format_checker)


def _compiled_validator():
    """``EVENT_SCHEMA`` compiled by jsonschema-rs (Rust), with this module's own format checks.

    It reads the same schema document as jsonschema, so a new event type or field is only a
    change to the schema above. Format checks are the very functions jsonschema uses (called
    back from Rust), so the two agree on formats by construction; the rest is the JSON Schema
    specification, which both implement (tests/telemetry/test_schemas.py checks they agree).
    It only answers "valid or not": jsonschema still writes every error message.
    """
    import jsonschema_rs

    formats = {name: _format_predicate(name) for name in sorted(_format_names(EVENT_SCHEMA))}
    return jsonschema_rs.validator_for(EVENT_SCHEMA, validate_formats=True, formats=formats)


def _format_predicate(name: str) -> Callable[[Any], bool]:
    """The format checker's own function for ``name``, as the predicate ``FormatChecker.check`` makes
    of it (a falsy result or one of its declared exceptions fails), minus its per-call overhead."""
    if name not in _format_checker.checkers:
        return lambda value: True  # jsonschema does not check this format either
    func, raises = _format_checker.checkers[name]

    def conforms(value: Any) -> bool:
        try:
            return bool(func(value))
        except raises:
            return False

    return conforms


def _format_names(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        names = {schema["format"]} if isinstance(schema.get("format"), str) else set()
        return names.union(*(_format_names(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_format_names(value) for value in schema))
    return set()


_compiled = _compiled_validator()


def _compiled_valid(event: dict[str, Any]) -> bool:
    """True only when the event is valid; False sends it to jsonschema for the verdict and the messages."""
    try:
        return _compiled.is_valid(event)
    except (ValueError, TypeError, OverflowError, RecursionError):  # a value Rust cannot represent
        return False


SHELL_ALIASES = {"pwsh": "powershell", "powershell.exe": "powershell", "cmd.exe": "cmd", "/bin/bash": "bash", "/bin/zsh": "zsh"}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def _field_of(error) -> str:
    path = [str(part) for part in error.absolute_path]
    if error.validator in ("required", "dependentRequired"):
        missing = error.message.split("'")[1] if "'" in error.message else ""  # "'x' is a ..." names the missing field
        path.append(missing)
    return ".".join(path) or "(event)"


def _leaf_errors(errors) -> list:
    """Flatten allOf/if-then wrappers so the message names the field that is actually wrong."""
    leaves = []
    for error in errors:
        if error.context and error.validator in {"allOf", "anyOf"}:
            leaves.extend(_leaf_errors(error.context))
        else:
            leaves.append(error)
    return leaves


def event_validate(event: Any, *, strict_json: bool = False) -> list[FieldError]:
    """Return the field errors of one raw event; an empty list means it is valid.

    ``strict_json``: the event was parsed by a strict JSON parser (no NaN/Infinity, no lone
    surrogates, no integers beyond 64 bits) from a body without a ``\\u0000`` escape. Its strings and numbers are then
    storable already, and only the values the schema leaves open (extra payload fields) are
    walked for their depth; otherwise every value is.
    """
    if not isinstance(event, dict):
        return [FieldError("(event)", "each event must be a JSON object")]
    if _compiled_valid(event):
        errors = []  # jsonschema would find none; it is only asked when there are some to report
    else:
        errors = [
            FieldError(_field_of(error), error.message)
            for error in _leaf_errors(_validator.iter_errors(event))
        ]
    if strict_json and not errors:
        for key, value in event["payload"].items():
            if isinstance(value, (dict, list)):
                errors.extend(_unstorable_values(value, f"payload.{key}", depth=1))
    else:
        for key, value in event.items():
            if key in EVENT_SCHEMA["properties"]:  # other keys are refused by the schema already
                errors.extend(_unstorable_values(value, key))
    if not errors and event.get("type") == "code.retention":
        payload = event["payload"]
        if "total_chars" in payload and "retained_chars" in payload and payload["retained_chars"] > payload["total_chars"]:
            errors.append(FieldError("payload.retained_chars", "retained_chars cannot exceed total_chars"))
    return sorted(set(errors), key=lambda e: e.field)


MAX_NESTING = 32
# NUL: PostgreSQL stores none; lone UTF-16 surrogates (JSON may escape them): no UTF-8 encodes them.
_UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")


def _unstorable_values(value: Any, path: str, depth: int = 0) -> list[FieldError]:
    """NaN/Infinity (no JSON has them), NUL characters and lone surrogates (no database stores
    them), integers beyond 64 bits (the bus encodes 64) and nesting deeper than MAX_NESTING
    (copying and encoding recurse), at any depth.
    ``depth``: how deep ``value`` itself is (0 for a top-level field of the event)."""
    errors: list[FieldError] = []
    pending: list[tuple[Any, str, int]] = [(value, path, depth)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            errors.append(FieldError(path, f"{value!r} is not a finite number"))
        elif isinstance(value, int) and not -(2**63) <= value < 2**64:
            errors.append(FieldError(path, "integers beyond 64 bits are not supported"))
        elif isinstance(value, str) and _UNSTORABLE_CHARS.search(value):
            errors.append(FieldError(path, "text must not contain NUL characters or lone surrogates"))
        elif isinstance(value, (dict, list)) and depth >= MAX_NESTING:
            errors.append(FieldError(path, f"nested deeper than {MAX_NESTING} levels"))
        elif isinstance(value, dict):
            for key, child in value.items():
                if _UNSTORABLE_CHARS.search(str(key)):
                    errors.append(FieldError(path, "keys must not contain NUL characters or lone surrogates"))
                pending.append((child, f"{path}.{_UNSTORABLE_CHARS.sub('', str(key))[:64]}", depth + 1))
        elif isinstance(value, list):
            pending.extend((child, f"{path}.{index}", depth + 1) for index, child in enumerate(value))
    return errors


def normalize_shell(shell: str) -> str:
    shell = shell.strip().lower()
    return SHELL_ALIASES.get(shell, shell)
