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


_validator = Draft202012Validator(EVENT_SCHEMA, format_checker=_format_checker)


class _Unsupported(Exception):
    pass


_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples", "default"})


def _compiled(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """An exact predicate "valid under ``schema``", for the keywords this schema uses.

    Each keyword mirrors jsonschema's own rule (the type and format checks are jsonschema's),
    so the predicate agrees with the validator on every instance, valid or not; it is a
    fast path only, errors are still reported by jsonschema. Any other keyword raises
    ``_Unsupported`` and the fast path is then not used at all.
    """
    is_type = Draft202012Validator.TYPE_CHECKER.is_type
    checks: list[Callable[[Any], bool]] = []
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS or keyword in ("then", "else"):
            continue
        if keyword == "type" and value in ("object", "string"):
            cls = dict if value == "object" else str  # jsonschema's own test for these two types
            checks.append(lambda x, cls=cls: isinstance(x, cls))
        elif keyword == "type" and isinstance(value, str):
            checks.append(lambda x, kind=value: is_type(x, kind))
        elif keyword in ("enum", "const"):
            options = value if keyword == "enum" else [value]
            if not all(isinstance(option, str) for option in options):
                raise _Unsupported(keyword)
            allowed = frozenset(options)
            checks.append(lambda x, allowed=allowed: isinstance(x, str) and x in allowed)
        elif keyword == "items" and isinstance(value, dict):
            item = _compiled(value)
            checks.append(lambda x, item=item: not isinstance(x, list) or all(item(e) for e in x))
        elif keyword in ("minItems", "maxItems"):
            low, high = (value, math.inf) if keyword == "minItems" else (0, value)
            checks.append(lambda x, low=low, high=high: not isinstance(x, list) or low <= len(x) <= high)
        elif keyword == "minLength":
            checks.append(lambda x, n=value: not (isinstance(x, str) and len(x) < n))
        elif keyword == "maxLength":
            checks.append(lambda x, n=value: not (isinstance(x, str) and len(x) > n))
        elif keyword == "minimum":
            checks.append(lambda x, n=value: not (is_type(x, "number") and x < n))
        elif keyword == "maximum":
            checks.append(lambda x, n=value: not (is_type(x, "number") and x > n))
        elif keyword == "format":
            checks.append(lambda x, name=value: _format_checker.conforms(x, name))
        elif keyword == "required":
            names = tuple(value)
            checks.append(lambda x, names=names: not isinstance(x, dict) or all(name in x for name in names))
        elif keyword == "properties":
            subs = tuple((name, _compiled(sub)) for name, sub in value.items())

            def properties(x, subs=subs) -> bool:
                if isinstance(x, dict):
                    for name, check in subs:
                        if name in x and not check(x[name]):
                            return False
                return True

            checks.append(properties)
        elif keyword == "additionalProperties" and value is False and "patternProperties" not in schema:
            allowed = frozenset(schema.get("properties", {}))
            checks.append(lambda x, allowed=allowed: not isinstance(x, dict) or x.keys() <= allowed)
        elif keyword == "allOf":
            subs = tuple(_compiled(sub) for sub in value)
            checks.append(lambda x, subs=subs: all(check(x) for check in subs))
        elif keyword == "oneOf":
            subs = tuple(_compiled(sub) for sub in value)
            checks.append(lambda x, subs=subs: sum(1 for check in subs if check(x)) == 1)
        elif keyword == "not":
            sub = _compiled(value)
            checks.append(lambda x, sub=sub: not sub(x))
        elif keyword == "if":
            condition = _compiled(value)
            then = _compiled(schema["then"]) if "then" in schema else (lambda x: True)
            otherwise = _compiled(schema["else"]) if "else" in schema else (lambda x: True)
            checks.append(lambda x, c=condition, t=then, o=otherwise: t(x) if c(x) else o(x))
        else:
            raise _Unsupported(keyword)
    if len(checks) == 1:
        return checks[0]
    checks_ = tuple(checks)

    def valid(x) -> bool:
        for check in checks_:
            if not check(x):
                return False
        return True

    return valid


def _fast_path() -> Callable[[Any], bool] | None:
    """Per event type, the predicate of the schema with only that type's payload rule.

    The schema's ``allOf`` of ``if type == T then payload matches P(T)`` holds exactly when
    the payload rule of the event's own type holds; checking only that one skips the other
    seven conditions. An event whose type is not a known string goes to jsonschema.
    """
    try:
        base = {k: v for k, v in EVENT_SCHEMA.items() if k != "allOf"}
        by_type = {}
        for rule in EVENT_SCHEMA["allOf"]:
            event_type = rule["if"]["properties"]["type"]["const"]
            if set(rule) != {"if", "then"} or rule["if"] != {"properties": {"type": {"const": event_type}}, "required": ["type"]}:
                raise _Unsupported("allOf")
            by_type[event_type] = _compiled({**base, "allOf": [rule["then"]]})
    except (_Unsupported, KeyError, TypeError):
        return None

    def valid(event: dict[str, Any]) -> bool:
        event_type = event.get("type")
        check = by_type.get(event_type) if isinstance(event_type, str) else None
        return check is not None and check(event)

    return valid


_fast_valid = _fast_path()

SHELL_ALIASES = {"pwsh": "powershell", "powershell.exe": "powershell", "cmd.exe": "cmd", "/bin/bash": "bash", "/bin/zsh": "zsh"}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def _field_of(error) -> str:
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
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


def event_validate(event: Any) -> list[FieldError]:
    """Return the field errors of one raw event; an empty list means it is valid."""
    if not isinstance(event, dict):
        return [FieldError("(event)", "each event must be a JSON object")]
    if _fast_valid is not None and _fast_valid(event):
        errors = []  # jsonschema would find none; it is only asked when there are some to report
    else:
        errors = [
            FieldError(_field_of(error), error.message)
            for error in _leaf_errors(_validator.iter_errors(event))
        ]
    for key, value in event.items():
        if key in EVENT_SCHEMA["properties"]:  # other keys are refused by the schema already
            errors.extend(_unstorable_values(value, key))
    if not errors and event.get("type") == "code.retention":
        payload = event["payload"]
        if "total_chars" in payload and payload["retained_chars"] > payload["total_chars"]:
            errors.append(FieldError("payload.retained_chars", "retained_chars cannot exceed total_chars"))
    return sorted(set(errors), key=lambda e: e.field)


MAX_NESTING = 32
# NUL: PostgreSQL stores none; lone UTF-16 surrogates (JSON may escape them): no UTF-8 encodes them.
_UNSTORABLE_CHARS = re.compile("[\x00\ud800-\udfff]")


def _unstorable_values(value: Any, path: str) -> list[FieldError]:
    """NaN/Infinity (no JSON has them), NUL characters and lone surrogates (no database stores
    them) and nesting deeper than MAX_NESTING (copying and encoding recurse), at any depth."""
    errors: list[FieldError] = []
    pending: list[tuple[Any, str, int]] = [(value, path, 0)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            errors.append(FieldError(path, f"{value!r} is not a finite number"))
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
