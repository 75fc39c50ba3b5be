"""Prompt and response content carried by OTLP records → ``llm.completion`` drafts.

==============================================  ==========================================
``gen_ai.client.inference.operation.details``   ``llm.completion``: prompt ←
(``telemetry.otlp.gen_ai``)                     gen_ai.system_instructions +
                                                gen_ai.input.messages, response ←
                                                gen_ai.output.messages (semconv parts:
                                                text, tool_call, tool_call_response →
                                                OpenAI chat messages with tool_calls and
                                                tool results), finish_reason ←
                                                gen_ai.response.finish_reasons, request_id ←
                                                gen_ai.response.id
Claude Code ``user_prompt``                     ``llm.completion``: prompt ← prompt (sent
                                                only with OTEL_LOG_USER_PROMPTS=1),
                                                request_id ← prompt.id
Gemini CLI / Qwen Code ``user_prompt``,         ``llm.completion``: prompt ← prompt /
``api_request``, ``api_response``               request_text, response ← response_text,
                                                finish_reason ← finish_reasons, request_id ←
                                                prompt_id
==============================================  ==========================================

A producer that logs the prompt and the answer in two records yields two ``llm.completion``
events with the same request_id; mining merges them (``rewards.core.facts.completion_merge``).
A record without content (the CLIs' defaults) maps to no completion. What is stored of the
text is decided at ingestion by the org's content capture, as for JSON clients.
"""
from __future__ import annotations

import json
from typing import Any

from telemetry.otlp.common import SHORT_CHARS, TEXT_CHARS, Attrs, Draft, Source, as_str, as_text, json_text_loaded

MAX_MESSAGES = 512
REDACTED_MARKERS = frozenset({"<REDACTED>", "[REDACTED]"})
"""What the CLIs send in place of a prompt whose logging is off (Claude Code: "<REDACTED>")."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    return (value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str))[:TEXT_CHARS]


def _semconv_message(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One semconv message (role + parts) as OpenAI chat messages (tool results become ``tool`` messages)."""
    role = as_str(message.get("role")) or "user"
    role = role if role in {"system", "developer", "user", "assistant", "tool"} else "user"
    if "parts" not in message:  # already OpenAI-shaped (older instrumentations)
        converted: dict[str, Any] = {"role": role, "content": _text(message.get("content")) or None}
        if isinstance(message.get("tool_calls"), list):
            converted["tool_calls"] = [_tool_call(call.get("function") or call, call.get("id")) for call in message["tool_calls"] if isinstance(call, dict)]
        return [converted]
    texts, calls, results = [], [], []
    for part in message.get("parts") or ():
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "tool_call":
            calls.append(_tool_call(part, part.get("id")))
        elif kind == "tool_call_response":
            result = {"role": "tool", "content": _text(part.get("response", part.get("result")))}
            if as_str(part.get("id")):
                result["tool_call_id"] = part["id"][:SHORT_CHARS]
            results.append(result)
        elif "content" in part:
            texts.append(_text(part.get("content")))
    messages = []
    if texts or calls or not results:
        converted = {"role": role, "content": "\n".join(texts)[:TEXT_CHARS] or None}
        if calls:
            converted["tool_calls"] = calls
        messages.append(converted)
    return messages + results


def _tool_call(call: dict[str, Any], call_id: Any) -> dict[str, Any]:
    name = as_str(call.get("name")) or "unknown"
    converted: dict[str, Any] = {"type": "function", "function": {"name": name[:128], "arguments": _text(call.get("arguments"))}}
    if as_str(call_id):
        converted["id"] = call_id[:SHORT_CHARS]
    return converted


def semconv_messages(value: Any, *, system: Any = None) -> list[dict[str, Any]] | None:
    """gen_ai.input/output.messages (and system instructions) as OpenAI chat messages, or None."""
    value, system = json_text_loaded(value), json_text_loaded(system)  # structured attributes or JSON text
    messages: list[dict[str, Any]] = []
    if system:
        parts = system if isinstance(system, list) else [system]
        text = "\n".join(_text(p.get("content")) if isinstance(p, dict) else _text(p) for p in parts)
        if text:
            messages.append({"role": "system", "content": text[:TEXT_CHARS]})
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        for message in value:
            if isinstance(message, dict):
                messages.extend(_semconv_message(message))
    elif isinstance(value, str) and value:
        messages.append({"role": "user", "content": value[:TEXT_CHARS]})
    return messages[:MAX_MESSAGES] or None


def _finish_reason(value: Any) -> str | None:
    value = json_text_loaded(value)
    if isinstance(value, list):
        value = value[-1] if value else None
    return as_text(value, 64) if value is not None else None


def completion_draft(source: Source, *, request_id: Any, prompt: Any = None, response: Any = None, finish_reason: Any = None) -> Draft | None:
    """An ``llm.completion`` draft when the record carries a prompt or a response, else None.

    Without a request id of its own, the record's identity stands in (then it cannot merge).
    A prompt record that names no model, with no other record of its prompt or session in the
    export to borrow one from, is ignored rather than rejected: the CLI did nothing wrong, but
    the completion cannot be attributed to a model version.
    """
    attrs = source.attrs
    if not (attrs.own("model", "gen_ai.response.model", "gen_ai.request.model") or source.model_hint or attrs.get("flywheel.model")):
        return None
    payload: dict[str, Any] = {}
    for name, value in (("prompt", prompt), ("response", response)):
        if isinstance(value, str):
            value = value[:TEXT_CHARS]
        if value:
            payload[name] = value
    if not payload:
        return None
    payload["request_id"] = as_text(request_id, SHORT_CHARS) or f"otlp-{source.identity[:32]}"
    reason = _finish_reason(finish_reason)
    if reason:
        payload["finish_reason"] = reason
    return Draft("llm.completion", payload, part="completion")


def prompt_text(attrs: Attrs, *names: str) -> str | None:
    """A prompt or request text attribute (CLIs send text, or the request contents as JSON)."""
    value = attrs.own(*names)
    if value is None or (isinstance(value, str) and value.strip() in REDACTED_MARKERS):
        return None
    return value if isinstance(value, str) else _text(value)
