"""Gemini CLI (service.name ``gemini-cli``): tool calls with edit diff statistics, API responses.

==============================================  ==========================================
log ``gemini_cli.tool_call``                    ``tool.call`` (not for decision "reject" or
                                                status "cancelled": the tool never ran): tool
                                                ← function_name, status ← success,
                                                error_kind ← error_type/error, duration_ms;
                                                for edits (a diffStat in ``metadata``, or an
                                                edit tool name) with decision accept/modify/
                                                reject also ``suggestion.accepted|rejected``
                                                (lines ← model_added_lines, chars ←
                                                model_added_chars) and, when accepted,
                                                ``code.retention`` (see below)
log ``gemini_cli.api_response``                 ``llm.usage``: input_tokens ←
                                                input_token_count − cached_content_token_count
                                                + tool_token_count (the prompt count includes
                                                the cached part), output_tokens ←
                                                output_token_count + thoughts_token_count,
                                                cache_read_tokens ← cached_content_token_count,
                                                latency_ms ← duration_ms
metric ``gemini_cli.file.operation.count``      N × ``code.retention`` for a delta of N, from
(only with ``facts_from_metrics``)              the model_/ai_/user_ line attributes
==============================================  ==========================================

Code retention from diff statistics: Gemini CLI (and Qwen Code) report, per edit, what the
model added (``model_added_chars``/``_lines``) and what the user then changed in the proposal
before applying it (``user_removed_chars``/``_lines``). Flywheel maps ``total_chars`` = model
added chars and ``retained_chars`` = max(0, model added − user removed), i.e. model text that
survived the user's edits. Lines stand in for chars when only lines are reported (the
metric path). ``elapsed_s`` comes from an ``elapsed_s``/``flywheel.elapsed_s`` attribute,
else ``MappingOptions.default_retention_elapsed_s`` (0: measured at acceptance, so it counts
for no retention checkpoint T ≥ 30 s until a client reports a later measurement).
"""
from __future__ import annotations

from typing import Any

from telemetry.otlp.common import (
    EDIT_TOOLS,
    SHORT_CHARS,
    Attrs,
    Draft,
    Mapper,
    MappingOptions,
    Source,
    as_count,
    as_number,
    as_str,
    as_text,
    combined,
    put,
)
from telemetry.otlp.content import completion_draft, prompt_text
from telemetry.otlp.points import MetricContext, MetricMapper, PointValue, repeated_events
from telemetry.otlp.tool_calls import tool_call_payload


def _diff_stat(attrs: Attrs, name: str) -> Any:
    """A diffStat figure, wherever the producer put it (metadata map, nested diffStat, flat; ai_ alias)."""
    names = [name] + ([name.replace("model_", "ai_", 1)] if name.startswith("model_") else [])
    return attrs.own(*[f"{prefix}{n}" for n in names for prefix in ("metadata.", "metadata.diffStat.", "diffStat.", "")])


def _retention_payload(attrs: Attrs, suggestion_id: str, options: MappingOptions) -> dict[str, Any] | None:
    """Model text that survived the user's edits of the proposal: chars, else lines."""
    for unit in ("chars", "lines"):
        added = as_count(_diff_stat(attrs, f"model_added_{unit}"))
        if added is None:
            continue
        if not isinstance(added, int) or isinstance(added, bool):
            return {"suggestion_id": suggestion_id, "elapsed_s": 0, "retained_chars": added, "total_chars": added}
        if added <= 0:
            return None  # nothing inserted: nothing to retain
        removed = as_count(_diff_stat(attrs, f"user_removed_{unit}")) or 0
        removed = removed if isinstance(removed, int) and not isinstance(removed, bool) else 0
        elapsed = as_number(attrs.own("elapsed_s", "flywheel.elapsed_s"))
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
    decision = as_str(attrs.own("decision"))
    tool = attrs.own("function_name")
    drafts: list[Draft] = []
    ran = decision != "reject" and as_str(attrs.own("status")) != "cancelled"
    if ran:
        drafts.append(Draft("tool.call", tool_call_payload(source, tool=tool, success=attrs.own("success"), call_id=attrs.own("call_id", "tool.call_id")), part="tool"))
    is_edit = as_str(tool) in EDIT_TOOLS or _diff_stat(attrs, "model_added_lines") is not None or _diff_stat(attrs, "model_added_chars") is not None
    if not is_edit or decision not in {"accept", "modify", "reject"}:
        return drafts
    suggestion_id = f"otlp-{source.identity[:32]}"
    language = attrs.own("programming_language", "metadata.programming_language")
    if decision == "reject":
        drafts.append(Draft("suggestion.rejected", {"suggestion_id": suggestion_id}, part="suggestion", language=language))
        return drafts
    lines = as_count(_diff_stat(attrs, "model_added_lines"))
    chars = as_count(_diff_stat(attrs, "model_added_chars"))
    accepted = {"suggestion_id": suggestion_id, "lines": 0 if lines is None else lines, "chars": 0 if chars is None else chars}
    drafts.append(Draft("suggestion.accepted", accepted, part="suggestion", language=language))
    retention = _retention_payload(attrs, suggestion_id, options)
    if retention is not None:
        drafts.append(Draft("code.retention", retention, part="retention", language=language))
    return drafts


def gemini_api_response(source: Source, options: MappingOptions) -> list[Draft]:
    """Gemini's prompt count includes cached tokens and excludes thoughts; Flywheel's does neither."""
    attrs = source.attrs
    cached = as_count(attrs.own("cached_content_token_count"))
    payload: dict[str, Any] = {}
    put(payload, "input_tokens", combined(as_count(attrs.own("input_token_count")), plus=[as_count(attrs.own("tool_token_count"))], minus=[cached]))
    put(payload, "output_tokens", combined(as_count(attrs.own("output_token_count")), plus=[as_count(attrs.own("thoughts_token_count"))]))
    if cached:
        payload["cache_read_tokens"] = cached
    put(payload, "latency_ms", as_number(attrs.own("duration_ms")))
    put(payload, "request_id", as_text(attrs.own("response_id", "gen_ai.response.id"), SHORT_CHARS))
    drafts = [Draft("llm.usage", payload)]
    completion = completion_draft(source, request_id=attrs.own("prompt_id"), response=prompt_text(attrs, "response_text"),
                                  finish_reason=attrs.own("finish_reasons"))
    return drafts + ([completion] if completion is not None else [])


def gemini_prompt(source: Source, options: MappingOptions) -> list[Draft]:
    """``user_prompt`` (prompt) and ``api_request`` (request_text): the prompt of the turn's completion."""
    attrs = source.attrs
    draft = completion_draft(source, request_id=attrs.own("prompt_id"), prompt=prompt_text(attrs, "prompt", "request_text"))
    return [draft] if draft is not None else []


def file_operation_metric(context: MetricContext, points: list[PointValue]) -> None:
    def draft_of(source: Source, index: int) -> Draft | None:
        retention = _retention_payload(source.attrs, f"otlp-{source.identity[:24]}-{index}", context.options)
        if retention is None:
            return None
        return Draft("code.retention", retention, part=str(index), language=source.attrs.own("programming_language"))

    for point in points:
        repeated_events(context, point, draft_of)


LOG_MAPPERS: dict[str, Mapper] = {
    "gemini_cli.tool_call": gemini_tool_call,
    "gemini_cli.api_response": gemini_api_response,
    "gemini_cli.user_prompt": gemini_prompt,
    "gemini_cli.api_request": gemini_prompt,
}
METRIC_MAPPERS: dict[str, MetricMapper] = {
    "gemini_cli.file.operation.count": file_operation_metric,
}
