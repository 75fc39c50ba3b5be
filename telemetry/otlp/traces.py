"""OTLP spans → events: the ``gen_ai.*`` spans of producers other than the vendor CLIs.

The agent CLIs export traces too (to ``<endpoint>/v1/traces``). Their spans repeat what
their log events already say (tokens per request, tool calls), so a vendor's spans are
accepted and ignored; other producers' GenAI spans are mapped by ``gen_ai.operation.name``
(see ``telemetry.otlp.gen_ai``). The span's status and duration reach the mappers as the
attributes ``otel.status_code`` ("OK", "ERROR", "UNSET"), ``otel.status_description`` and
``duration_ms``, unless the span sets those itself. Rejection is counted in spans.
"""
from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from telemetry.otlp import gen_ai
from telemetry.otlp.common import Attrs, MappingOptions, MappingResult, Source, as_str, attributes_flat, digest
from telemetry.otlp.envelope import map_source

_STATUS_NAMES = {Status.STATUS_CODE_OK: "OK", Status.STATUS_CODE_ERROR: "ERROR", Status.STATUS_CODE_UNSET: "UNSET"}


def span_attributes(span: Span) -> dict[str, Any]:
    """The span's attributes, with its status and duration as attributes the mappers read."""
    attrs = attributes_flat(span.attributes)
    attrs.setdefault("otel.status_code", _STATUS_NAMES.get(span.status.code, "UNSET"))
    if span.status.message:
        attrs.setdefault("otel.status_description", span.status.message)
        if span.status.code == Status.STATUS_CODE_ERROR:
            attrs.setdefault("error.message", span.status.message)
    if span.start_time_unix_nano and span.end_time_unix_nano >= span.start_time_unix_nano:
        attrs.setdefault("duration_ms", (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6)
    return attrs


def traces_map(request: ExportTraceServiceRequest, *, options: MappingOptions = MappingOptions()) -> MappingResult:
    """Map every span of an export; spans Flywheel does not use are ignored."""
    result = MappingResult()
    owner = 0
    for ri, resource_spans in enumerate(request.resource_spans):
        resource = attributes_flat(resource_spans.resource.attributes)
        for si, scope_spans in enumerate(resource_spans.scope_spans):
            scope = (scope_spans.scope.name, scope_spans.scope.version)
            for pi, span in enumerate(scope_spans.spans):
                where = f"span {span.name[:100]!r} at resourceSpans[{ri}].scopeSpans[{si}].spans[{pi}]"
                attrs = Attrs(span_attributes(span), resource)
                mapper = gen_ai.SPAN_MAPPERS.get(as_str(attrs.own("gen_ai.operation.name")) or "")
                if mapper is None:
                    result.ignored += 1
                    continue
                source = Source(
                    name=span.name,
                    attrs=attrs,
                    time_unix_nano=span.end_time_unix_nano or span.start_time_unix_nano,
                    identity=digest("span", resource, scope, span.trace_id.hex(), span.span_id.hex(), span.start_time_unix_nano),
                    where=where,
                )
                map_source(result, owner, source, mapper, options, units=1)
                owner += 1
    return result
