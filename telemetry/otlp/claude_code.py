"""Claude Code (service.name ``claude-code``): tool results, API requests, edit decisions.

==============================================  ==========================================
log ``claude_code.tool_result``                 ``tool.call``: tool ← tool_name, status ←
                                                success, error_kind ← error_type/error,
                                                duration_ms, call_id ← tool_use_id,
                                                arguments ← tool_input/tool_parameters
log ``claude_code.user_prompt``                 ``llm.completion`` when the prompt text is
                                                exported: prompt ← prompt, request_id ←
                                                prompt.id (``telemetry.otlp.content``)
log ``claude_code.api_request``                 ``llm.usage``: input_tokens, output_tokens,
                                                cache_read_tokens, cache_write_tokens ←
                                                cache_creation_tokens, latency_ms ←
                                                duration_ms, request_id
log ``claude_code.tool_decision`` (and a        ``suggestion.accepted|rejected`` for the edit
``claude_code.code_edit_tool.decision`` log)    tools only (Edit, MultiEdit, Write,
                                                NotebookEdit): decision accept/reject,
                                                suggestion_id ← tool_use_id, lines = chars =
                                                0 (Claude Code does not report them)
metric ``claude_code.code_edit_tool.decision``  N × ``suggestion.accepted|rejected`` for a
(counter; only with ``facts_from_metrics``)     delta of N; repo.language ← language
==============================================  ==========================================
"""
from __future__ import annotations

from typing import Any

from telemetry.otlp.common import EDIT_TOOLS, SHORT_CHARS, Draft, Mapper, MappingOptions, Source, as_count, as_number, as_str, as_text, put
from telemetry.otlp.content import completion_draft, prompt_text
from telemetry.otlp.points import MetricContext, MetricMapper, PointValue, repeated_events
from telemetry.otlp.tool_calls import tool_call_payload


def claude_tool_result(source: Source, options: MappingOptions) -> list[Draft]:
    attrs = source.attrs
    payload = tool_call_payload(source, tool=attrs.own("tool_name", "name"), success=attrs.own("success"), call_id=attrs.own("tool_use_id"))
    return [Draft("tool.call", payload)]


def claude_user_prompt(source: Source, options: MappingOptions) -> list[Draft]:
    """The user's prompt (only exported with OTEL_LOG_USER_PROMPTS=1) as the prompt of a completion."""
    attrs = source.attrs
    draft = completion_draft(source, request_id=attrs.own("prompt.id"), prompt=prompt_text(attrs, "prompt"))
    return [draft] if draft is not None else []


def claude_api_request(source: Source, options: MappingOptions) -> list[Draft]:
    attrs = source.attrs
    payload: dict[str, Any] = {}
    for target, name in (
        ("input_tokens", "input_tokens"),
        ("output_tokens", "output_tokens"),
        ("cache_read_tokens", "cache_read_tokens"),
        ("cache_write_tokens", "cache_creation_tokens"),
    ):
        put(payload, target, as_count(attrs.own(name)))
    put(payload, "latency_ms", as_number(attrs.own("duration_ms")))
    put(payload, "request_id", as_text(attrs.own("request_id", "client_request_id"), SHORT_CHARS))
    return [Draft("llm.usage", payload)]


_USER_DECISION_SOURCES = frozenset({"user_permanent", "user_temporary", "user_reject", "user_abort"})


def claude_tool_decision(source: Source, options: MappingOptions) -> list[Draft]:
    """Edit-tool permission decisions made by the user; automatic ones (config, hook) are not judgements."""
    attrs = source.attrs
    decision = as_str(attrs.own("decision"))
    decided_by = attrs.own("source", "decision_source")
    if as_str(attrs.own("tool_name")) not in EDIT_TOOLS or decision not in {"accept", "reject"}:
        return []
    if decided_by is not None and as_str(decided_by) not in _USER_DECISION_SOURCES:
        return []
    suggestion_id = as_text(attrs.own("tool_use_id"), SHORT_CHARS) or f"otlp-{source.identity[:32]}"
    if decision == "accept":
        return [Draft("suggestion.accepted", {"suggestion_id": suggestion_id, "lines": 0, "chars": 0}, language=attrs.own("language"))]
    return [Draft("suggestion.rejected", {"suggestion_id": suggestion_id}, language=attrs.own("language"))]


def claude_edit_decision_metric(context: MetricContext, points: list[PointValue]) -> None:
    def draft_of(source: Source, index: int) -> Draft | None:
        attrs = source.attrs
        decision, decided_by = as_str(attrs.own("decision")), attrs.own("source")
        if decision not in {"accept", "reject"} or (decided_by is not None and as_str(decided_by) not in _USER_DECISION_SOURCES):
            return None
        suggestion_id = f"otlp-{source.identity[:24]}-{index}"
        if decision == "accept":
            return Draft("suggestion.accepted", {"suggestion_id": suggestion_id, "lines": 0, "chars": 0}, part=str(index), language=attrs.own("language"))
        return Draft("suggestion.rejected", {"suggestion_id": suggestion_id}, part=str(index), language=attrs.own("language"))

    for point in points:
        repeated_events(context, point, draft_of)


LOG_MAPPERS: dict[str, Mapper] = {
    "claude_code.tool_result": claude_tool_result,
    "claude_code.api_request": claude_api_request,
    "claude_code.tool_decision": claude_tool_decision,
    "claude_code.code_edit_tool.decision": claude_tool_decision,
    "claude_code.user_prompt": claude_user_prompt,
}
METRIC_MAPPERS: dict[str, MetricMapper] = {
    "claude_code.code_edit_tool.decision": claude_edit_decision_metric,
}
