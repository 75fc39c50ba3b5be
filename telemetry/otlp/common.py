"""What every mapper shares: attributes, value coercion, sources, drafts, options, results."""
from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


VENDOR_PRODUCERS: dict[str, str] = {"claude-code": "claude_code", "gemini-cli": "gemini_cli", "qwen-code": "qwen-code"}
EDIT_TOOLS = frozenset({
    "Edit", "MultiEdit", "Write", "NotebookEdit",  # Claude Code
    "replace", "write_file", "edit", "smart_edit", "edit_file",  # Gemini CLI, Qwen Code
})
MAX_EVENTS_PER_POINT = 1000  # a counter delta larger than this is not N real decisions
MAX_ERROR_MESSAGE_CHARS = 2000
LABEL_CHARS, SHORT_CHARS, SHELL_CHARS, USER_CHARS, TEXT_CHARS = 64, 128, 32, 256, 200_000


class RecordInvalid(ValueError):
    """A record Flywheel uses, but one that cannot become a valid event."""


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


def json_text_loaded(value: Any, *, openers: tuple[str, ...] = ("[", "{")) -> Any:
    """``value`` decoded when it is JSON text starting with one of ``openers``; otherwise, or when
    it does not decode (nested too deeply included: RecursionError), ``value`` as it is."""
    if isinstance(value, str) and value.lstrip().startswith(openers):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def attributes_flat(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    """Attributes by key; nested maps are also reachable by dotted path (``metadata.x``).

    A ``metadata`` attribute sent as a JSON string (some SDKs stringify objects) is expanded too.
    """
    flat: dict[str, Any] = {}
    for pair in pairs:
        value = any_value(pair.value)
        if pair.key == "metadata":
            value = json_text_loaded(value, openers=("{",))
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


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)


def digest(*parts: Any) -> str:
    return hashlib.sha256(canonical(parts).encode()).hexdigest()


def as_count(value: Any) -> Any:
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


def as_number(value: Any) -> Any:
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


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def as_text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        value = canonical(value)
    return value[:limit] or None


def as_str(value: Any) -> str | None:
    """The value if it is a string (attribute values may be any AnyValue, lists included)."""
    return value if isinstance(value, str) else None


def put(payload: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        payload[key] = value


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


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def combined(base: Any, *, plus: Iterable[Any] = (), minus: Iterable[Any] = ()) -> Any:
    """base + plus − minus (never below 0) over present counts; None without a base.

    A value that is not a non-negative integer is returned as is, so the schema names it.
    """
    plus, minus = list(plus), list(minus)
    bad = next((v for v in (base, *plus, *minus) if v is not None and (not is_int(v) or v < 0)), None)
    if bad is not None:
        return bad
    if base is None:
        return None
    return max(0, base - sum(m or 0 for m in minus)) + sum(p or 0 for p in plus)


def is_vendor(attrs: Attrs) -> bool:
    return as_str(attrs.resource.get("service.name")) in VENDOR_PRODUCERS
