"""OTLP log records → events, through the producers' log mappers.

Log records are named by ``LogRecord.event_name``, else the ``event.name`` attribute, else a
string body; Claude Code's unprefixed ``event.name`` ("tool_result") is qualified with the
producer's namespace taken from ``service.name``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from telemetry.otlp import claude_code, gemini_cli, gen_ai, qwen_code
from telemetry.otlp.common import (
    VENDOR_PRODUCERS,
    Attrs,
    Mapper,
    MappingOptions,
    MappingResult,
    RecordInvalid,
    Source,
    any_value,
    attributes_flat,
    digest,
)
from telemetry.otlp.envelope import map_source

LOG_MAPPERS: dict[str, Mapper] = {
    **claude_code.LOG_MAPPERS,
    **gemini_cli.LOG_MAPPERS,
    **qwen_code.LOG_MAPPERS,
    **gen_ai.LOG_MAPPERS,
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


def logs_map(request: ExportLogsServiceRequest, *, options: MappingOptions = MappingOptions()) -> MappingResult:
    """Map every log record of an export; see the package and producer docstrings for what and how."""
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
        map_source(result, owner, _with_hint(source, hints), mapper, options, units=1)
    return result


def _log_source(record: LogRecord, attrs: Attrs, name: str, resource: Mapping[str, Any], scope: tuple, where: str) -> Source:
    body = any_value(record.body) if record.HasField("body") else None
    identity = digest(
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
