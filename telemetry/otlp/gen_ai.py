"""OpenTelemetry GenAI semantic conventions (``gen_ai.*``), for producers other than the vendor CLIs.

==============================================  ==========================================
log ``gen_ai.client.inference.operation.details``  ``llm.usage``: gen_ai.usage.input_tokens
                                                (less its cache_read/cache_creation parts,
                                                which semconv counts inside it),
                                                gen_ai.usage.output_tokens, cache_read_tokens ←
                                                gen_ai.usage.cache_read.input_tokens,
                                                cache_write_tokens ←
                                                gen_ai.usage.cache_creation.input_tokens;
                                                and ``llm.completion`` from its input/output
                                                messages (``telemetry.otlp.content``)
metric ``gen_ai.client.token.usage``            ``llm.usage``, one per (attributes but
(histogram)                                     gen_ai.token.type, time) group: input/output
                                                tokens ← the histogram sum of the points whose
                                                gen_ai.token.type is input/output
==============================================  ==========================================

The vendor CLIs report the same tokens in their own events, so these are mapped only when
``service.name`` is not one of theirs (see ``telemetry.otlp.metrics`` for the metric).
"""
from __future__ import annotations

from typing import Any

from telemetry.otlp.common import (
    SHORT_CHARS,
    Draft,
    Mapper,
    MappingOptions,
    RecordInvalid,
    Source,
    as_count,
    as_text,
    combined,
    digest,
    is_vendor,
    put,
)
from telemetry.otlp.content import completion_draft, semconv_messages
from telemetry.otlp.envelope import map_source
from telemetry.otlp.points import MetricContext, PointValue


def gen_ai_operation_details(source: Source, options: MappingOptions) -> list[Draft]:
    """The semconv inference event; semconv's input_tokens include the cached parts."""
    attrs = source.attrs
    if is_vendor(attrs):
        return []  # the vendor's own api_request/api_response event carries the same tokens
    total_input = as_count(attrs.own("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"))
    output = as_count(attrs.own("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"))
    cache_read = as_count(attrs.own("gen_ai.usage.cache_read.input_tokens"))
    cache_write = as_count(attrs.own("gen_ai.usage.cache_creation.input_tokens"))
    payload: dict[str, Any] = {}
    put(payload, "input_tokens", combined(total_input, minus=[cache_read, cache_write]))
    put(payload, "output_tokens", output)
    put(payload, "cache_read_tokens", cache_read)
    put(payload, "cache_write_tokens", cache_write)
    put(payload, "request_id", as_text(attrs.own("gen_ai.response.id"), SHORT_CHARS))
    drafts = [Draft("llm.usage", payload)] if ("input_tokens" in payload or "output_tokens" in payload) else []
    completion = completion_draft(
        source, request_id=attrs.own("gen_ai.response.id"),
        prompt=semconv_messages(attrs.own("gen_ai.input.messages"), system=attrs.own("gen_ai.system_instructions")),
        response=semconv_messages(attrs.own("gen_ai.output.messages")),
        finish_reason=attrs.own("gen_ai.response.finish_reasons"),
    )
    return drafts + ([completion] if completion is not None else [])


_TOKEN_TYPES = {"input": "input_tokens", "prompt": "input_tokens", "output": "output_tokens", "completion": "output_tokens"}


def gen_ai_token_usage(context: MetricContext, points: list[PointValue]) -> None:
    """Pair the input and output points of one operation (same attributes and time) into an llm.usage."""
    groups: dict[str, list[PointValue]] = {}
    for point in points:
        rest = {k: v for k, v in point.attrs.record.items() if k != "gen_ai.token.type"}
        groups.setdefault(digest(rest, point.start_time_unix_nano, point.time_unix_nano), []).append(point)
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
        identity = digest("metric", sorted(m.series for m in members), members[0].start_time_unix_nano, members[0].time_unix_nano)
        source = Source("gen_ai.client.token.usage", members[0].attrs, members[0].time_unix_nano, identity, where)
        map_source(context.result, context.next_owner(), source, lambda s, o: [Draft("llm.usage", payload)], context.options, units=len(members))


LOG_MAPPERS: dict[str, Mapper] = {
    "gen_ai.client.inference.operation.details": gen_ai_operation_details,
}
