"""OTLP logs and metrics → Flywheel schema-v1 events (pure: no Django import).

Agent CLIs speak OpenTelemetry natively; this module turns what they export over OTLP/HTTP
into the events ``telemetry.services.events_ingest`` takes. ``telemetry.api_otlp`` is the
thin HTTP adapter around it.

Decoding
--------
``logs_decode`` / ``metrics_decode`` parse a body into the opentelemetry-proto classes, from
binary protobuf (``application/x-protobuf``) or OTLP/JSON (``application/json``, parsed by
``google.protobuf.json_format``). OTLP/JSON departs from protobuf's canonical JSON mapping
in one way: trace and span ids are hex strings, not base64, so they are re-encoded before
parsing. Unknown JSON fields are ignored, as the OTLP spec requires of receivers.

What is mapped (source → event type)
------------------------------------
Log records are named by ``LogRecord.event_name``, else the ``event.name`` attribute, else a
string body; Claude Code's unprefixed ``event.name`` ("tool_result") is qualified with the
producer's namespace taken from ``service.name``.

==============================================  ==========================================
source                                          Flywheel event (payload fields ← attributes)
==============================================  ==========================================
log ``claude_code.tool_result``                 ``tool.call``: tool ← tool_name, status ←
                                                success, error_kind ← error_type/error,
                                                duration_ms, call_id ← tool_use_id,
                                                arguments ← tool_input/tool_parameters
log ``claude_code.api_request``                 ``llm.usage``: input_tokens, output_tokens,
                                                cache_read_tokens, cache_write_tokens ←
                                                cache_creation_tokens, latency_ms ←
                                                duration_ms, request_id
log ``claude_code.tool_decision`` (and a        ``suggestion.accepted|rejected`` for the edit
``claude_code.code_edit_tool.decision`` log)    tools only (Edit, MultiEdit, Write,
                                                NotebookEdit): decision accept/reject,
                                                suggestion_id ← tool_use_id, lines = chars =
                                                0 (Claude Code does not report them)
log ``gemini_cli.tool_call``,                   ``tool.call`` (not for decision "reject" or
``qwen-code.tool_call``                         status "cancelled": the tool never ran): tool
                                                ← function_name, status ← success,
                                                error_kind ← error_type/error, duration_ms;
                                                for edits (a diffStat in ``metadata``, or an
                                                edit tool name) with decision accept/modify/
                                                reject also ``suggestion.accepted|rejected``
                                                (lines ← model_added_lines, chars ←
                                                model_added_chars) and, when accepted,
                                                ``code.retention`` (see below)
log ``gemini_cli.api_response``,                ``llm.usage``: input_tokens ←
``qwen-code.api_response``                      input_token_count − cached_content_token_count
                                                + tool_token_count (the prompt count includes
                                                the cached part), output_tokens ←
                                                output_token_count + thoughts_token_count,
                                                cache_read_tokens ← cached_content_token_count,
                                                latency_ms ← duration_ms
log ``gen_ai.client.inference.operation.details``  ``llm.usage``: gen_ai.usage.input_tokens
                                                (less its cache_read/cache_creation parts,
                                                which semconv counts inside it),
                                                gen_ai.usage.output_tokens, cache_read_tokens ←
                                                gen_ai.usage.cache_read.input_tokens,
                                                cache_write_tokens ←
                                                gen_ai.usage.cache_creation.input_tokens
metric ``gen_ai.client.token.usage``            ``llm.usage``, one per (attributes but
(histogram)                                     gen_ai.token.type, time) group: input/output
                                                tokens ← the histogram sum of the points whose
                                                gen_ai.token.type is input/output
metric ``claude_code.code_edit_tool.decision``  N × ``suggestion.accepted|rejected`` for a
(counter; only with ``facts_from_metrics``)     delta of N; repo.language ← language
metric ``gemini_cli.file.operation.count``,     N × ``code.retention`` for a delta of N, from
``qwen-code.file.operation.count`` (only with   the model_/ai_/user_ line attributes
``facts_from_metrics``)
==============================================  ==========================================

Code retention from diff statistics: Gemini CLI and Qwen Code report, per edit, what the
model added (``model_added_chars``/``_lines``) and what the user then changed in the proposal
before applying it (``user_removed_chars``/``_lines``). Flywheel maps ``total_chars`` = model
added chars and ``retained_chars`` = max(0, model added − user removed), i.e. model text that
survived the user's edits. Lines stand in for chars when only lines are reported (the
metric path). ``elapsed_s`` comes from an ``elapsed_s``/``flywheel.elapsed_s`` attribute,
else ``MappingOptions.default_retention_elapsed_s`` (0: measured at acceptance, so it counts
for no retention checkpoint T ≥ 30 s until a client reports a later measurement).

Not double counting: vendor CLIs report some facts twice. Tokens and edit decisions are
taken from their log events (one per request/decision, with identity and exact time); the
``gen_ai.*`` log event and metric are mapped only for other producers (``service.name`` not
one of claude-code, gemini-cli, qwen-code), and the vendor decision/line metrics only when
``facts_from_metrics`` is set (for deployments that export metrics but not logs). Automatic
decisions (Claude Code source "config"/"hook", Gemini "auto_accept") are not user judgements
and are not mapped to suggestions.

Envelope
--------
``event_id``: ``flywheel.event_id`` if a UUID, else a UUIDv5 of the record's identity
(resource attributes, scope, times, name, attributes, body, trace/span ids; for metrics the
series, start and time), so a client re-sending the same export is idempotent.
``session_id`` ← session.id (gen_ai.conversation.id); ``task_id`` ← prompt.id/prompt_id;
``user`` ← user.email, user.id or installation.id; ``model.name`` ← model,
gen_ai.response.model, gen_ai.request.model, else the model another record of the same
prompt/session in this export names, else a ``flywheel.model`` resource attribute;
``model.version`` ← ``flywheel.model_version`` (record, else resource) else the name;
``client`` ← service.name (ide), service.version (ide_version), os.type (darwin → macos,
linux, windows, else other), shell ← shell/flywheel.shell, else terminal.type; ``ts`` ←
time_unix_nano, else observed_time_unix_nano, else the event.timestamp attribute.

Rejected versus ignored
-----------------------
Well-formed records that are not telemetry Flywheel uses (user prompts, config, unknown
names, duplicates of facts taken elsewhere) are ignored: neither stored nor reported
rejected. A record that is ours but whose events fail ``event_validate`` (or lack a time) is
rejected as a whole, none of its events is kept, and its field errors go into the
``partial_success.error_message``. Rejection is counted in the signal's OTLP unit: log
records, or metric data points.

Cumulative metrics: a cumulative point repeats the running total since its start time, so
it is turned into a delta against the last point seen of the same series (the caller keeps
those in a store: ``baselines`` in, ``MappingResult.series_updates`` out). A point not newer
than the baseline is a re-sent duplicate and is ignored; a first point, or one whose start
time changed (a restart), counts in full.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from google.protobuf import any_pb2, duration_pb2, json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsPartialSuccess,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Metric

from telemetry.schemas import OPERATING_SYSTEMS, TOOL_ERROR_KINDS, event_validate

Encoding = Literal["protobuf", "json"]
CONTENT_TYPES: dict[str, Encoding] = {"application/x-protobuf": "protobuf", "application/json": "json"}
MEDIA_TYPES: dict[Encoding, str] = {"protobuf": "application/x-protobuf", "json": "application/json"}

EVENT_ID_NAMESPACE = uuid.UUID("5b0f3c1e-8d7a-5d38-9a6e-6f746c700001")
VENDOR_PRODUCERS: dict[str, str] = {"claude-code": "claude_code", "gemini-cli": "gemini_cli", "qwen-code": "qwen-code"}
EDIT_TOOLS = frozenset({
    "Edit", "MultiEdit", "Write", "NotebookEdit",  # Claude Code
    "replace", "write_file", "edit", "smart_edit", "edit_file",  # Gemini CLI, Qwen Code
})
MAX_EVENTS_PER_POINT = 1000  # a counter delta larger than this is not N real decisions
MAX_ERROR_MESSAGE_CHARS = 2000
_LABEL, _SHORT, _SHELL, _USER, _TEXT = 64, 128, 32, 256, 200_000


class DecodeFailed(ValueError):
    """The body is not a decodable export request of the expected signal."""


class RecordInvalid(ValueError):
    """A record Flywheel uses, but one that cannot become a valid event."""


# ---------------------------------------------------------------- decoding


def logs_decode(body: bytes, encoding: Encoding) -> ExportLogsServiceRequest:
    """Parse an OTLP logs export; raise DecodeFailed with a developer-facing reason."""
    return _decode(body, encoding, ExportLogsServiceRequest())


def metrics_decode(body: bytes, encoding: Encoding) -> ExportMetricsServiceRequest:
    """Parse an OTLP metrics export; raise DecodeFailed with a developer-facing reason."""
    return _decode(body, encoding, ExportMetricsServiceRequest())


def _decode(body: bytes, encoding: Encoding, message: Message):
    if not body:
        return message  # an empty request is a valid, empty export
    try:
        if encoding == "protobuf":
            message.ParseFromString(body)
        else:
            document = json.loads(body)
            if not isinstance(document, dict):
                raise DecodeFailed("the OTLP/JSON body must be a JSON object")
            json_format.ParseDict(_json_prepared(document), message, ignore_unknown_fields=True)
    except DecodeFailed:
        raise
    except (DecodeError, json_format.ParseError, RecursionError, ValueError, TypeError, AttributeError) as exc:
        # ValueError covers bad UTF-8 and bad JSON; json_format also raises TypeError/AttributeError
        # for some malformed values (a number where a message belongs), RecursionError for deep nesting.
        raise DecodeFailed(f"not a valid {type(message).DESCRIPTOR.name} ({encoding}): {type(exc).__name__}: {exc}") from exc
    return message


_ID_KEYS = frozenset({"traceId", "spanId", "trace_id", "span_id"})
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_prepared(value: Any) -> Any:
    """OTLP/JSON as protobuf's JSON parser takes it: trace/span ids from hex to base64.

    Also refuses lone UTF-16 surrogates (JSON can escape them; protobuf strings are UTF-8),
    which the upb parser would otherwise answer with a SystemError.
    """
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            raise DecodeFailed("a JSON string holds a lone UTF-16 surrogate: not valid Unicode")
        return value
    if isinstance(value, dict):
        return {_json_prepared(k): (_hex_id(v) if k in _ID_KEYS else _json_prepared(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_prepared(v) for v in value]
    return value


def _hex_id(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # let json_format report the wrong type
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError as exc:
        raise DecodeFailed(f"trace/span id {value[:40]!r} is not hex") from exc


# ---------------------------------------------------------------- encoding answers


def message_encode(message: Message, encoding: Encoding) -> bytes:
    """A response message in the request's encoding (proto3 JSON mapping for JSON)."""
    if encoding == "protobuf":
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode()


def logs_response(*, rejected: int, error_message: str) -> ExportLogsServiceResponse:
    """Full success leaves partial_success unset, as the spec requires."""
    if not rejected:
        return ExportLogsServiceResponse()
    return ExportLogsServiceResponse(partial_success=ExportLogsPartialSuccess(rejected_log_records=rejected, error_message=error_message))


def metrics_response(*, rejected: int, error_message: str) -> ExportMetricsServiceResponse:
    if not rejected:
        return ExportMetricsServiceResponse()
    return ExportMetricsServiceResponse(partial_success=ExportMetricsPartialSuccess(rejected_data_points=rejected, error_message=error_message))


_RPC_CODES = {
    400: code_pb2.INVALID_ARGUMENT, 401: code_pb2.UNAUTHENTICATED, 403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND, 405: code_pb2.UNIMPLEMENTED, 406: code_pb2.INVALID_ARGUMENT,
    413: code_pb2.RESOURCE_EXHAUSTED, 415: code_pb2.INVALID_ARGUMENT, 429: code_pb2.RESOURCE_EXHAUSTED,
    503: code_pb2.UNAVAILABLE,
}


def error_status(http_status: int, message: str, *, field_name: str | None = None, retry_after_s: int | None = None) -> status_pb2.Status:
    """The ``google.rpc.Status`` every OTLP 4xx/5xx answer carries, with BadRequest or RetryInfo details."""
    status = status_pb2.Status(code=_RPC_CODES.get(http_status, code_pb2.UNKNOWN), message=message or f"HTTP {http_status}")
    if field_name is not None:
        violation = error_details_pb2.BadRequest.FieldViolation(field=field_name, description=message)
        _details_add(status, error_details_pb2.BadRequest(field_violations=[violation]))
    if retry_after_s is not None:
        _details_add(status, error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after_s)))
    return status


def _details_add(status: status_pb2.Status, detail: Message) -> None:
    packed = any_pb2.Any()
    packed.Pack(detail)
    status.details.append(packed)


# ---------------------------------------------------------------- attributes


def any_value(value: AnyValue) -> Any:
    """An OTLP AnyValue as plain Python (bytes as hex, arrays as lists, kvlists as dicts)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind) if kind else None


def attributes_flat(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    """Attributes by key; nested maps are also reachable by dotted path (``metadata.x``).

    A ``metadata`` attribute sent as a JSON string (some SDKs stringify objects) is expanded too.
    """
    flat: dict[str, Any] = {}
    for pair in pairs:
        value = any_value(pair.value)
        if pair.key == "metadata" and isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        _flatten_into(flat, pair.key, value)
    return flat


def _flatten_into(flat: dict[str, Any], key: str, value: Any) -> None:
    flat[key] = value
    if isinstance(value, dict):
        for sub_key, sub_value in value.items():
            _flatten_into(flat, f"{key}.{sub_key}", sub_value)


@dataclass(frozen=True)
class Attrs:
    """A record's (or data point's) attributes over its resource's: the record's win."""

    record: Mapping[str, Any]
    resource: Mapping[str, Any]

    def get(self, *names: str) -> Any:
        for name in names:
            if self.record.get(name) is not None:
                return self.record[name]
        for name in names:
            if self.resource.get(name) is not None:
                return self.resource[name]
        return None

    def own(self, *names: str) -> Any:
        """Only the record's own attributes (facts that must not come from the resource)."""
        for name in names:
            if self.record.get(name) is not None:
                return self.record[name]
        return None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(_canonical(parts).encode()).hexdigest()


# ---------------------------------------------------------------- value coercion


def _count(value: Any) -> Any:
    """An integer count from int/float/str attributes; other values pass through for the schema to name."""
    if isinstance(value, int):  # bools too: the schema then says they are not integers
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RecordInvalid(f"non-finite number {value!r}")
        return int(value) if value.is_integer() else value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


def _number(value: Any) -> Any:
    """A number from float/int/str attributes; NaN and infinities make the record invalid."""
    if isinstance(value, float) and not math.isfinite(value):
        raise RecordInvalid(f"non-finite number {value!r}")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        if not math.isfinite(number):
            raise RecordInvalid(f"non-finite number {value!r}")
        return number
    return value


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def _text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = _canonical(value)
    return value[:limit] or None


def _str(value: Any) -> str | None:
    """The value if it is a string (attribute values may be any AnyValue, lists included)."""
    return value if isinstance(value, str) else None


def _put(payload: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        payload[key] = value


# ---------------------------------------------------------------- records and drafts


@dataclass(frozen=True)
class Source:
    """One OTLP log record or metric data point group, as the mappers see it."""

    name: str
    attrs: Attrs
    time_unix_nano: int
    identity: str
    where: str
    model_hint: str | None = None


@dataclass(frozen=True)
class Draft:
    """An event a mapper wants, before the common envelope is added."""

    type: str
    payload: dict[str, Any]
    part: str = ""
    language: Any = None


@dataclass(frozen=True)
class MappingOptions:
    """Deployment choices of the mapping (settings TELEMETRY_OTLP_* in the Django adapter)."""

    # Map vendor metrics that duplicate vendor log events (edit decisions, diff line counts):
    # for deployments whose clients export metrics but not logs. Off: the logs are the source.
    facts_from_metrics: bool = False
    # elapsed_s of a code.retention drawn from diff statistics without an elapsed_s attribute.
    default_retention_elapsed_s: float = 0.0


@dataclass(frozen=True)
class SeriesPoint:
    """The last cumulative point seen of one metric series."""

    start_time_unix_nano: int
    time_unix_nano: int
    value: float


@dataclass
class MappingResult:
    """Valid events, each with the index of the record (or point group) it came from."""

    events: list[dict[str, Any]] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    owner_sizes: dict[int, int] = field(default_factory=dict)
    owner_names: dict[int, str] = field(default_factory=dict)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    ignored: int = 0
    series_updates: dict[str, SeriesPoint] = field(default_factory=dict)

    def reject(self, *, units: int, where: str, reason: str) -> None:
        self.rejected += units
        self.errors.append(f"{where}: {reason}")

    def accept(self, owner: int, events: list[dict[str, Any]], *, units: int, where: str) -> None:
        self.owner_sizes[owner] = units
        self.owner_names[owner] = where
        for event in events:
            self.events.append(event)
            self.owners.append(owner)

    def error_message(self, *, unit: str) -> str:
        """An English summary for partial_success: how many were rejected, then why, bounded in size."""
        if not self.rejected:
            return ""
        text = f"{self.rejected} {unit}{'' if self.rejected == 1 else 's'} rejected. " + "; ".join(self.errors)
        return text if len(text) <= MAX_ERROR_MESSAGE_CHARS else text[: MAX_ERROR_MESSAGE_CHARS - 1] + "…"


Mapper = Callable[[Source, MappingOptions], list[Draft]]


# ---------------------------------------------------------------- tool error kinds

# Gemini CLI / Qwen Code ToolErrorType values (packages/core/src/tools/tool-error.ts).
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


# ---------------------------------------------------------------- log mappers


def _tool_call_payload(source: Source, *, tool: Any, success: Any, call_id: Any) -> dict[str, Any]:
    attrs = source.attrs
    payload: dict[str, Any] = {}
    _put(payload, "tool", _text(tool, _LABEL))
    ok = _bool(success)
    if ok is not None:
        payload["status"] = "success" if ok else "error"
    if ok is False:
        payload["error_kind"] = tool_error_kind(attrs.own("error_type", "error.type"), attrs.own("error", "error.message"))
    _put(payload, "call_id", _text(call_id, _SHORT))
    _put(payload, "duration_ms", _number(attrs.own("duration_ms")))
    _put(payload, "arguments", _text(attrs.own("tool_input", "tool_parameters", "function_args"), _TEXT))
    return payload


def claude_tool_result(source: Source, options: MappingOptions) -> list[Draft]:
    attrs = source.attrs
    payload = _tool_call_payload(source, tool=attrs.own("tool_name", "name"), success=attrs.own("success"), call_id=attrs.own("tool_use_id"))
    return [Draft("tool.call", payload)]


def claude_api_request(source: Source, options: MappingOptions) -> list[Draft]:
    attrs = source.attrs
    payload: dict[str, Any] = {}
    for target, name in (
        ("input_tokens", "input_tokens"),
        ("output_tokens", "output_tokens"),
        ("cache_read_tokens", "cache_read_tokens"),
        ("cache_write_tokens", "cache_creation_tokens"),
    ):
        _put(payload, target, _count(attrs.own(name)))
    _put(payload, "latency_ms", _number(attrs.own("duration_ms")))
    _put(payload, "request_id", _text(attrs.own("request_id", "client_request_id"), _SHORT))
    return [Draft("llm.usage", payload)]


_USER_DECISION_SOURCES = frozenset({"user_permanent", "user_temporary", "user_reject", "user_abort"})


def claude_tool_decision(source: Source, options: MappingOptions) -> list[Draft]:
    """Edit-tool permission decisions made by the user; automatic ones (config, hook) are not judgements."""
    attrs = source.attrs
    decision = _str(attrs.own("decision"))
    decided_by = attrs.own("source", "decision_source")
    if _str(attrs.own("tool_name")) not in EDIT_TOOLS or decision not in {"accept", "reject"}:
        return []
    if decided_by is not None and _str(decided_by) not in _USER_DECISION_SOURCES:
        return []
    suggestion_id = _text(attrs.own("tool_use_id"), _SHORT) or f"otlp-{source.identity[:32]}"
    if decision == "accept":
        return [Draft("suggestion.accepted", {"suggestion_id": suggestion_id, "lines": 0, "chars": 0}, language=attrs.own("language"))]
    return [Draft("suggestion.rejected", {"suggestion_id": suggestion_id}, language=attrs.own("language"))]


def _diff_stat(attrs: Attrs, name: str) -> Any:
    """A diffStat figure, wherever the producer put it (metadata map, nested diffStat, flat; ai_ alias)."""
    names = [name] + ([name.replace("model_", "ai_", 1)] if name.startswith("model_") else [])
    return attrs.own(*[f"{prefix}{n}" for n in names for prefix in ("metadata.", "metadata.diffStat.", "diffStat.", "")])


def _retention_payload(attrs: Attrs, suggestion_id: str, options: MappingOptions) -> dict[str, Any] | None:
    """Model text that survived the user's edits of the proposal: chars, else lines."""
    for unit in ("chars", "lines"):
        added = _count(_diff_stat(attrs, f"model_added_{unit}"))
        if added is None:
            continue
        if not isinstance(added, int) or isinstance(added, bool):
            return {"suggestion_id": suggestion_id, "elapsed_s": 0, "retained_chars": added, "total_chars": added}
        if added <= 0:
            return None  # nothing inserted: nothing to retain
        removed = _count(_diff_stat(attrs, f"user_removed_{unit}")) or 0
        removed = removed if isinstance(removed, int) and not isinstance(removed, bool) else 0
        elapsed = _number(attrs.own("elapsed_s", "flywheel.elapsed_s"))
        return {
            "suggestion_id": suggestion_id,
            "elapsed_s": options.default_retention_elapsed_s if elapsed is None else elapsed,
            "retained_chars": min(added, max(0, added - removed)),
            "total_chars": added,
        }
    return None


def gemini_tool_call(source: Source, options: MappingOptions) -> list[Draft]:
    """Gemini CLI and Qwen Code ``tool_call``: the call, and for edits the decision and retention."""
    attrs = source.attrs
    decision = _str(attrs.own("decision"))
    tool = attrs.own("function_name")
    drafts: list[Draft] = []
    ran = decision != "reject" and _str(attrs.own("status")) != "cancelled"
    if ran:
        drafts.append(Draft("tool.call", _tool_call_payload(source, tool=tool, success=attrs.own("success"), call_id=attrs.own("call_id", "tool.call_id")), part="tool"))
    is_edit = _str(tool) in EDIT_TOOLS or _diff_stat(attrs, "model_added_lines") is not None or _diff_stat(attrs, "model_added_chars") is not None
    if not is_edit or decision not in {"accept", "modify", "reject"}:
        return drafts
    suggestion_id = f"otlp-{source.identity[:32]}"
    language = attrs.own("programming_language", "metadata.programming_language")
    if decision == "reject":
        drafts.append(Draft("suggestion.rejected", {"suggestion_id": suggestion_id}, part="suggestion", language=language))
        return drafts
    lines = _count(_diff_stat(attrs, "model_added_lines"))
    chars = _count(_diff_stat(attrs, "model_added_chars"))
    accepted = {"suggestion_id": suggestion_id, "lines": 0 if lines is None else lines, "chars": 0 if chars is None else chars}
    drafts.append(Draft("suggestion.accepted", accepted, part="suggestion", language=language))
    retention = _retention_payload(attrs, suggestion_id, options)
    if retention is not None:
        drafts.append(Draft("code.retention", retention, part="retention", language=language))
    return drafts


def gemini_api_response(source: Source, options: MappingOptions) -> list[Draft]:
    """Gemini's prompt count includes cached tokens and excludes thoughts; Flywheel's does neither."""
    attrs = source.attrs
    cached = _count(attrs.own("cached_content_token_count"))
    payload: dict[str, Any] = {}
    _put(payload, "input_tokens", _combined(_count(attrs.own("input_token_count")), plus=[_count(attrs.own("tool_token_count"))], minus=[cached]))
    _put(payload, "output_tokens", _combined(_count(attrs.own("output_token_count")), plus=[_count(attrs.own("thoughts_token_count"))]))
    if cached:
        payload["cache_read_tokens"] = cached
    _put(payload, "latency_ms", _number(attrs.own("duration_ms")))
    _put(payload, "request_id", _text(attrs.own("response_id", "gen_ai.response.id"), _SHORT))
    return [Draft("llm.usage", payload)]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _combined(base: Any, *, plus: Iterable[Any] = (), minus: Iterable[Any] = ()) -> Any:
    """base + plus − minus (never below 0) over present counts; None without a base.

    A value that is not a non-negative integer is returned as is, so the schema names it.
    """
    plus, minus = list(plus), list(minus)
    bad = next((v for v in (base, *plus, *minus) if v is not None and (not _is_int(v) or v < 0)), None)
    if bad is not None:
        return bad
    if base is None:
        return None
    return max(0, base - sum(m or 0 for m in minus)) + sum(p or 0 for p in plus)


def gen_ai_operation_details(source: Source, options: MappingOptions) -> list[Draft]:
    """The semconv inference event; semconv's input_tokens include the cached parts."""
    attrs = source.attrs
    if _is_vendor(attrs):
        return []  # the vendor's own api_request/api_response event carries the same tokens
    total_input = _count(attrs.own("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"))
    output = _count(attrs.own("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"))
    if total_input is None and output is None:
        return []
    cache_read = _count(attrs.own("gen_ai.usage.cache_read.input_tokens"))
    cache_write = _count(attrs.own("gen_ai.usage.cache_creation.input_tokens"))
    payload: dict[str, Any] = {}
    _put(payload, "input_tokens", _combined(total_input, minus=[cache_read, cache_write]))
    _put(payload, "output_tokens", output)
    _put(payload, "cache_read_tokens", cache_read)
    _put(payload, "cache_write_tokens", cache_write)
    _put(payload, "request_id", _text(attrs.own("gen_ai.response.id"), _SHORT))
    return [Draft("llm.usage", payload)]


def _is_vendor(attrs: Attrs) -> bool:
    return _str(attrs.resource.get("service.name")) in VENDOR_PRODUCERS


LOG_MAPPERS: dict[str, Mapper] = {
    "claude_code.tool_result": claude_tool_result,
    "claude_code.api_request": claude_api_request,
    "claude_code.tool_decision": claude_tool_decision,
    "claude_code.code_edit_tool.decision": claude_tool_decision,
    "gemini_cli.tool_call": gemini_tool_call,
    "gemini_cli.api_response": gemini_api_response,
    "qwen-code.tool_call": gemini_tool_call,
    "qwen-code.api_response": gemini_api_response,
    "gen_ai.client.inference.operation.details": gen_ai_operation_details,
}


def log_event_name(record: LogRecord, attrs: Mapping[str, Any], producer: Any) -> str:
    """The record's event name as LOG_MAPPERS knows it, else its best-effort name."""
    body = any_value(record.body) if record.HasField("body") else None
    candidates = [c for c in (record.event_name, attrs.get("event.name"), body) if isinstance(c, str) and c and len(c) <= 200]
    for candidate in candidates:
        if candidate in LOG_MAPPERS:
            return candidate
    namespace = VENDOR_PRODUCERS.get(producer) if isinstance(producer, str) else None
    for candidate in candidates:
        if namespace and f"{namespace}.{candidate}" in LOG_MAPPERS:
            return f"{namespace}.{candidate}"
    return candidates[0] if candidates else ""


# ---------------------------------------------------------------- envelope


def nanos_to_iso(nanos: int) -> str | None:
    """An RFC 3339 UTC timestamp from Unix nanoseconds; None when 0 or out of range."""
    if nanos <= 0:
        return None
    try:
        return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=nanos // 1000)).isoformat()
    except OverflowError:
        return None


def _iso_attribute(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


_OS_NAMES = {"darwin": "macos", "macos": "macos", "linux": "linux", "windows": "windows", "win32": "windows"}


def normalize_os(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    name = _OS_NAMES.get(value.strip().lower(), "other")
    return name if name in OPERATING_SYSTEMS else "other"


def _client(attrs: Attrs) -> dict[str, Any]:
    client: dict[str, Any] = {}
    _put(client, "ide", _text(attrs.resource.get("service.name"), _LABEL))
    _put(client, "ide_version", _text(attrs.resource.get("service.version"), _LABEL))
    _put(client, "os", normalize_os(attrs.get("os.type")))
    shell = attrs.get("shell", "flywheel.shell", "terminal.type")
    _put(client, "shell", _text(shell, _SHELL) if isinstance(shell, str) else None)
    return client


def _model(source: Source) -> dict[str, Any] | None:
    attrs = source.attrs
    name = attrs.own("model", "gen_ai.response.model", "gen_ai.request.model") or source.model_hint or attrs.get("flywheel.model")
    if name is None:
        return None  # the schema then names the missing field
    version = attrs.get("flywheel.model_version") or name
    return {"name": name, "version": version}


def _event_id(source: Source, part: str) -> str:
    explicit = source.attrs.own("flywheel.event_id", "event.id")
    if isinstance(explicit, str) and not part:
        try:
            return str(uuid.UUID(explicit))
        except ValueError:
            pass
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source.identity}/{part}"))


def event_build(source: Source, draft: Draft) -> dict[str, Any]:
    """The schema-v1 event for one draft: the envelope every mapped event shares."""
    attrs = source.attrs
    ts = nanos_to_iso(source.time_unix_nano) or _iso_attribute(attrs.own("event.timestamp"))
    if ts is None:
        raise RecordInvalid("ts: the record has no time_unix_nano, observed_time_unix_nano or event.timestamp")
    event: dict[str, Any] = {"event_id": _event_id(source, draft.part), "type": draft.type, "ts": ts, "payload": draft.payload}
    _put(event, "session_id", attrs.get("session.id", "gen_ai.conversation.id"))
    task = attrs.own("prompt.id", "prompt_id")
    _put(event, "task_id", _text(task, _SHORT) if isinstance(task, str) else None)
    user = attrs.get("user.email", "user.id", "installation.id")
    _put(event, "user", _text(user, _USER) if isinstance(user, str) else None)
    _put(event, "model", _model(source))
    client = _client(attrs)
    if client:
        event["client"] = client
    language = _text(draft.language, _LABEL) if isinstance(draft.language, str) else None
    if language and language != "unknown":
        event["repo"] = {"language": language.lower()}
    return event


_FIELD_HINTS = {
    "session_id": " (send a session.id attribute)",
    "model": " (send a model attribute, or a flywheel.model resource attribute)",
}


def events_check(source: Source, drafts: list[Draft]) -> list[dict[str, Any]]:
    """Build and validate every event of one source; raise RecordInvalid naming the bad fields."""
    events = [event_build(source, draft) for draft in drafts]
    problems: list[str] = []
    for event in events:
        for error in event_validate(event):
            problems.append(f"{event['type']} {error.field}: {error.message[:200]}{_FIELD_HINTS.get(error.field, '')}")
    if problems:
        raise RecordInvalid("; ".join(dict.fromkeys(problems)))
    return events


# ---------------------------------------------------------------- logs


def logs_map(request: ExportLogsServiceRequest, *, options: MappingOptions = MappingOptions()) -> MappingResult:
    """Map every log record of an export; see the module docstring for what and how."""
    result = MappingResult()
    sources: list[tuple[Source, Mapper]] = []
    for ri, resource_logs in enumerate(request.resource_logs):
        resource = attributes_flat(resource_logs.resource.attributes)
        for si, scope_logs in enumerate(resource_logs.scope_logs):
            scope = (scope_logs.scope.name, scope_logs.scope.version)
            for li, record in enumerate(scope_logs.log_records):
                where = f"resourceLogs[{ri}].scopeLogs[{si}].logRecords[{li}]"
                try:
                    attrs = Attrs(attributes_flat(record.attributes), resource)
                    name = log_event_name(record, attrs.record, resource.get("service.name"))
                    mapper = LOG_MAPPERS.get(name)
                    if mapper is None:
                        result.ignored += 1
                        continue
                    sources.append((_log_source(record, attrs, name, resource, scope, where), mapper))
                except RecordInvalid as exc:
                    result.reject(units=1, where=where, reason=str(exc))
    hints = _model_hints(source for source, _ in sources)
    for owner, (source, mapper) in enumerate(sources):
        _map_source(result, owner, _with_hint(source, hints), mapper, options, units=1)
    return result


def _log_source(record: LogRecord, attrs: Attrs, name: str, resource: Mapping[str, Any], scope: tuple, where: str) -> Source:
    body = any_value(record.body) if record.HasField("body") else None
    identity = _digest(
        "log", resource, scope, record.time_unix_nano, record.observed_time_unix_nano, name,
        attrs.record, body, record.trace_id.hex(), record.span_id.hex(), record.severity_number,
    )
    return Source(
        name=name,
        attrs=attrs,
        time_unix_nano=record.time_unix_nano or record.observed_time_unix_nano,
        identity=identity,
        where=f"{name} at {where}",
    )


def _model_hints(sources: Iterable[Source]) -> dict[tuple[str, Any], str]:
    """Models named in this export, by prompt and by session: tool events often carry none."""
    hints: dict[tuple[str, Any], str] = {}
    for source in sources:
        model = source.attrs.own("model", "gen_ai.response.model", "gen_ai.request.model")
        if not isinstance(model, str) or not model:
            continue
        for kind, key in (("prompt", source.attrs.own("prompt.id", "prompt_id")), ("session", source.attrs.get("session.id"))):
            if isinstance(key, (str, int)):
                hints[(kind, key)] = model
    return hints


def _with_hint(source: Source, hints: Mapping[tuple[str, Any], str]) -> Source:
    prompt, session = source.attrs.own("prompt.id", "prompt_id"), source.attrs.get("session.id")
    hint = hints.get(("prompt", prompt)) if isinstance(prompt, (str, int)) else None
    if hint is None and isinstance(session, (str, int)):
        hint = hints.get(("session", session))
    return Source(source.name, source.attrs, source.time_unix_nano, source.identity, source.where, hint)


def _map_source(result: MappingResult, owner: int, source: Source, mapper: Mapper, options: MappingOptions, *, units: int) -> None:
    try:
        drafts = mapper(source, options)
        if not drafts:
            result.ignored += units
            return
        result.accept(owner, events_check(source, drafts), units=units, where=source.where)
    except RecordInvalid as exc:
        result.reject(units=units, where=source.where, reason=str(exc))


# ---------------------------------------------------------------- metrics


@dataclass(frozen=True)
class PointValue:
    """One data point, reduced to what the metric mappers need."""

    attrs: Attrs
    start_time_unix_nano: int
    time_unix_nano: int
    value: float
    cumulative: bool
    series: str


class SeriesTracker:
    """Turns cumulative points into deltas against the last point seen of each series."""

    def __init__(self, baselines: Mapping[str, SeriesPoint]) -> None:
        self.baselines = dict(baselines)
        self.updates: dict[str, SeriesPoint] = {}

    def delta(self, point: PointValue) -> float | None:
        """The point's increment; None for a point already counted (not newer than the baseline)."""
        if not point.cumulative:
            return point.value
        last = self.baselines.get(point.series)
        if last is not None and last.start_time_unix_nano == point.start_time_unix_nano:
            if point.time_unix_nano <= last.time_unix_nano:
                return None
            increment = point.value - last.value
            increment = point.value if increment < 0 else increment  # a reset within the same start
        else:
            increment = point.value
        newest = SeriesPoint(point.start_time_unix_nano, point.time_unix_nano, point.value)
        self.baselines[point.series] = newest
        self.updates[point.series] = newest
        return increment


MetricMapper = Callable[["MetricContext", list[PointValue]], None]


@dataclass
class MetricContext:
    result: MappingResult
    tracker: SeriesTracker
    options: MappingOptions
    metric_name: str
    where: str
    next_owner: Callable[[], int]


def _points(metric: Metric) -> tuple[list[Any], int | None]:
    """A metric's data points and its temporality (None for gauges)."""
    kind = metric.WhichOneof("data")
    if kind == "sum":
        return list(metric.sum.data_points), metric.sum.aggregation_temporality
    if kind == "histogram":
        return list(metric.histogram.data_points), metric.histogram.aggregation_temporality
    if kind == "exponential_histogram":
        return list(metric.exponential_histogram.data_points), metric.exponential_histogram.aggregation_temporality
    if kind == "gauge":
        return list(metric.gauge.data_points), None
    if kind == "summary":
        return list(metric.summary.data_points), AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    return [], None


def _point_value(point: Any) -> float:
    if hasattr(point, "as_int"):
        kind = point.WhichOneof("value")
        if kind is None:
            raise RecordInvalid("the data point has no value")
        value = float(getattr(point, kind))
    else:
        if point.DESCRIPTOR.fields_by_name["sum"].has_presence and not point.HasField("sum"):
            raise RecordInvalid("the data point has no sum")
        value = point.sum
    if not math.isfinite(value) or value < 0:
        raise RecordInvalid(f"value {value!r} is not a finite non-negative number")
    return value


def _point(point: Any, resource: Mapping[str, Any], series_base: tuple, temporality: int | None) -> PointValue:
    if temporality not in (AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA, AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE):
        raise RecordInvalid("aggregation_temporality must be DELTA or CUMULATIVE")
    attrs = Attrs(attributes_flat(point.attributes), resource)
    return PointValue(
        attrs=attrs,
        start_time_unix_nano=point.start_time_unix_nano,
        time_unix_nano=point.time_unix_nano,
        value=_point_value(point),
        cumulative=temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE,
        series=_digest("series", *series_base, attrs.record),
    )


def metric_series_keys(request: ExportMetricsServiceRequest, *, options: MappingOptions = MappingOptions()) -> list[str]:
    """The series whose baselines ``metrics_map`` will need (cumulative points of mapped metrics)."""
    keys: list[str] = []
    for resource, scope, metric, points, temporality in _metrics_walk(request):
        if temporality != AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE or _metric_mapper(metric.name, resource, options) is None:
            continue
        for point in points:
            keys.append(_digest("series", resource, scope, metric.name, attributes_flat(point.attributes)))
    return keys


def _metrics_walk(request: ExportMetricsServiceRequest):
    for ri, resource_metrics in enumerate(request.resource_metrics):
        resource = attributes_flat(resource_metrics.resource.attributes)
        for si, scope_metrics in enumerate(resource_metrics.scope_metrics):
            scope = (scope_metrics.scope.name, scope_metrics.scope.version)
            for mi, metric in enumerate(scope_metrics.metrics):
                points, temporality = _points(metric)
                yield resource, scope, metric, points, temporality


def metrics_map(
    request: ExportMetricsServiceRequest,
    *,
    baselines: Mapping[str, SeriesPoint] | None = None,
    options: MappingOptions = MappingOptions(),
) -> MappingResult:
    """Map the data points of an export; ``baselines`` holds the series of ``metric_series_keys``."""
    result = MappingResult()
    tracker = SeriesTracker(baselines or {})
    owners = iter(range(1 << 62))
    for ri, resource_metrics in enumerate(request.resource_metrics):
        resource = attributes_flat(resource_metrics.resource.attributes)
        for si, scope_metrics in enumerate(resource_metrics.scope_metrics):
            scope = (scope_metrics.scope.name, scope_metrics.scope.version)
            for mi, metric in enumerate(scope_metrics.metrics):
                where = f"{metric.name[:100]} at resourceMetrics[{ri}].scopeMetrics[{si}].metrics[{mi}]"
                points, temporality = _points(metric)
                mapper = _metric_mapper(metric.name, resource, options)
                if mapper is None:
                    result.ignored += len(points)
                    continue
                context = MetricContext(result, tracker, options, metric.name, where, lambda: next(owners))
                decoded: list[PointValue] = []
                for pi, point in enumerate(points):
                    try:
                        decoded.append(_point(point, resource, (resource, scope, metric.name), temporality))
                    except RecordInvalid as exc:
                        result.reject(units=1, where=f"{where}.dataPoints[{pi}]", reason=str(exc))
                # Oldest first, so a batch holding several exports of one series yields each increment once.
                mapper(context, sorted(decoded, key=lambda p: p.time_unix_nano))
    result.series_updates = tracker.updates
    return result


_TOKEN_TYPES = {"input": "input_tokens", "prompt": "input_tokens", "output": "output_tokens", "completion": "output_tokens"}


def gen_ai_token_usage(context: MetricContext, points: list[PointValue]) -> None:
    """Pair the input and output points of one operation (same attributes and time) into an llm.usage."""
    groups: dict[str, list[PointValue]] = {}
    for point in points:
        rest = {k: v for k, v in point.attrs.record.items() if k != "gen_ai.token.type"}
        groups.setdefault(_digest(rest, point.start_time_unix_nano, point.time_unix_nano), []).append(point)
    for group_key, members in groups.items():
        where = f"{context.where} (gen_ai.client.token.usage group of {len(members)} points)"
        payload: dict[str, int] = {}
        fresh = False
        try:
            for point in members:
                target = _TOKEN_TYPES.get(str(point.attrs.record.get("gen_ai.token.type")).lower())
                if target is None:
                    raise RecordInvalid("gen_ai.token.type must be input or output")
                increment = context.tracker.delta(point)
                if increment is None:
                    continue
                fresh = True
                payload[target] = payload.get(target, 0) + round(increment)
        except RecordInvalid as exc:
            context.result.reject(units=len(members), where=where, reason=str(exc))
            continue
        if not fresh or not any(payload.values()):
            context.result.ignored += len(members)
            continue
        payload.setdefault("input_tokens", 0)
        payload.setdefault("output_tokens", 0)
        identity = _digest("metric", sorted(m.series for m in members), members[0].start_time_unix_nano, members[0].time_unix_nano)
        source = Source("gen_ai.client.token.usage", members[0].attrs, members[0].time_unix_nano, identity, where)
        _map_source(context.result, context.next_owner(), source, lambda s, o: [Draft("llm.usage", payload)], context.options, units=len(members))


def _repeated(context: MetricContext, point: PointValue, draft_of: Callable[[Source, int], Draft | None]) -> None:
    """N events for a counter increment of N, each with its own id."""
    where = f"{context.where} point at {point.time_unix_nano}"
    try:
        increment = context.tracker.delta(point)
    except RecordInvalid as exc:
        context.result.reject(units=1, where=where, reason=str(exc))
        return
    if increment is None or round(increment) <= 0:
        context.result.ignored += 1
        return
    count = round(increment)
    if count > MAX_EVENTS_PER_POINT:
        context.result.reject(units=1, where=where, reason=f"an increment of {count} exceeds {MAX_EVENTS_PER_POINT} events per data point")
        return
    source = Source(context.metric_name, point.attrs, point.time_unix_nano, _digest("metric", point.series, point.start_time_unix_nano, point.time_unix_nano), where)
    first = draft_of(source, 0)
    if first is None:
        context.result.ignored += 1
        return
    drafts = [first] + [d for i in range(1, count) if (d := draft_of(source, i)) is not None]
    _map_source(context.result, context.next_owner(), source, lambda s, o: drafts, context.options, units=1)


def claude_edit_decision_metric(context: MetricContext, points: list[PointValue]) -> None:
    def draft_of(source: Source, index: int) -> Draft | None:
        attrs = source.attrs
        decision, decided_by = _str(attrs.own("decision")), attrs.own("source")
        if decision not in {"accept", "reject"} or (decided_by is not None and _str(decided_by) not in _USER_DECISION_SOURCES):
            return None
        suggestion_id = f"otlp-{source.identity[:24]}-{index}"
        if decision == "accept":
            return Draft("suggestion.accepted", {"suggestion_id": suggestion_id, "lines": 0, "chars": 0}, part=str(index), language=attrs.own("language"))
        return Draft("suggestion.rejected", {"suggestion_id": suggestion_id}, part=str(index), language=attrs.own("language"))

    for point in points:
        _repeated(context, point, draft_of)


def file_operation_metric(context: MetricContext, points: list[PointValue]) -> None:
    def draft_of(source: Source, index: int) -> Draft | None:
        retention = _retention_payload(source.attrs, f"otlp-{source.identity[:24]}-{index}", context.options)
        if retention is None:
            return None
        return Draft("code.retention", retention, part=str(index), language=source.attrs.own("programming_language"))

    for point in points:
        _repeated(context, point, draft_of)


def _metric_mapper(name: str, resource: Mapping[str, Any], options: MappingOptions) -> MetricMapper | None:
    """The mapper for a metric from this producer under these options, or None (ignored)."""
    vendor = _str(resource.get("service.name")) in VENDOR_PRODUCERS
    if name == "gen_ai.client.token.usage":
        return None if vendor else gen_ai_token_usage
    if not options.facts_from_metrics:
        return None
    return VENDOR_METRIC_MAPPERS.get(name)


VENDOR_METRIC_MAPPERS: dict[str, MetricMapper] = {
    "claude_code.code_edit_tool.decision": claude_edit_decision_metric,
    "gemini_cli.file.operation.count": file_operation_metric,
    "qwen-code.file.operation.count": file_operation_metric,
}


__all__ = [
    "CONTENT_TYPES",
    "DecodeFailed",
    "MappingOptions",
    "MappingResult",
    "SeriesPoint",
    "error_status",
    "logs_decode",
    "logs_map",
    "logs_response",
    "message_encode",
    "metric_series_keys",
    "metrics_decode",
    "metrics_map",
    "metrics_response",
    "tool_error_kind",
]
