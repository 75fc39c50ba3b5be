"""What telemetry says about one completion, joined on ``request_id`` (pure, no Django).

A completion (``llm.completion``) caused:

* ``llm.usage`` and ``tool.call`` events carrying its ``request_id``;
* ``suggestion.*`` events carrying its ``request_id`` or one of its ``suggestion_ids``;
* ``code.retention`` events of those suggestions;
* and belongs to a task whose ``task.finished`` and ``feedback`` events describe the outcome.

Events are plain dicts shaped like stored rows: ``type``, ``payload``, ``task_id`` (and for
the completion itself ``session_id``, ``model_version``, ``ts``).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rewards.core.config import RETENTION_LABELS
from telemetry.completions import content_text
from telemetry.metrics import retention_checkpoint

_CHECKPOINT_LABELS = dict(zip((30, 120, 300, 600, 3600), RETENTION_LABELS))
OUTCOME_TYPES = frozenset({"task.finished", "feedback"})


@dataclass(frozen=True)
class CompletionFacts:
    """Everything mining knows about one completion; ``None`` means "not observed"."""

    request_id: str
    prompt_fingerprint: str
    model_version: str
    session_id: str = ""
    task_id: str = ""
    ts: str = ""
    prompt: str | None = None
    """Rendered prompt text (only under ``full`` capture)."""
    response: str | None = None
    """Rendered response text (only under ``full`` capture)."""
    suggestion_ids: tuple[str, ...] = ()
    retention: dict[str, float] = field(default_factory=dict)
    """Checkpoint label -> retained / total accepted characters measured at it."""
    accepted: bool | None = None
    tool_calls: int = 0
    tool_errors: int = 0
    tokens: int | None = None
    task_outcome: str | None = None
    feedback: float | None = None
    """Mean rating of the task: +1 up, -1 down."""

    @property
    def has_text(self) -> bool:
        return self.prompt is not None and self.response is not None


def completion_merge(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One completion from the ``llm.completion`` events sharing a request_id, in time order.

    Producers that log the request and the answer separately (Gemini CLI's api_request /
    api_response, Claude Code's user_prompt) send them as separate events: the prompt (and
    its fingerprint) comes from the first event that has one, the response and finish
    reason from the last, suggestion ids from all. A single event is returned as it is.
    """
    parts = list(parts)
    if len(parts) == 1:
        return dict(parts[0])
    merged = dict(parts[0])
    payload: dict[str, Any] = {"request_id": parts[0]["payload"]["request_id"]}
    suggestions: list[str] = []
    for part in parts:
        data = part["payload"]
        if "prompt_fingerprint" in data and "prompt_fingerprint" not in payload:
            for key in ("prompt", "prompt_fingerprint", "prompt_chars"):
                if key in data:
                    payload[key] = data[key]
        for key in ("response", "response_fingerprint", "response_chars", "finish_reason"):
            if key in data:
                payload[key] = data[key]
        suggestions.extend(s for s in data.get("suggestion_ids") or () if s not in suggestions)
        for key in ("task_id", "session_id", "model_version"):
            if not merged.get(key) and part.get(key):
                merged[key] = part[key]
    payload["suggestion_ids"] = suggestions
    merged["payload"] = payload
    return merged


def completion_suggestion_ids(completion: Mapping[str, Any], related: Iterable[Mapping[str, Any]]) -> set[str]:
    """The completion's suggestions: listed by it, or naming its request_id."""
    request_id = completion["payload"]["request_id"]
    ids = set(completion["payload"].get("suggestion_ids") or ())
    for event in related:
        payload = event["payload"]
        if event["type"].startswith("suggestion.") and payload.get("request_id") == request_id:
            ids.add(payload["suggestion_id"])
    return ids


def completion_facts(completion: Mapping[str, Any], related: Iterable[Mapping[str, Any]]) -> CompletionFacts:
    """Fold the completion's related events into its facts.

    ``related`` may contain unrelated events (they are ignored): an event counts when it
    names the completion's request_id, one of its suggestions, or (outcomes) its task.
    Deterministic and idempotent: the same events in any order give the same facts.
    """
    related = list(related)
    payload = completion["payload"]
    request_id = payload["request_id"]
    suggestions = completion_suggestion_ids(completion, related)
    task_id = completion.get("task_id") or ""
    retained: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    decisions: set[str] = set()
    tool_calls = tool_errors = 0
    tokens: int | None = None
    outcome: str | None = None
    ratings: list[float] = []
    for event in related:
        kind, data = event["type"], event["payload"]
        mine = data.get("request_id") == request_id
        if kind == "llm.usage" and mine:
            tokens = (tokens or 0) + data["input_tokens"] + data["output_tokens"] + data.get("cache_read_tokens", 0) + data.get("cache_write_tokens", 0)
        elif kind == "tool.call" and mine:
            tool_calls += 1
            tool_errors += int(data["status"] == "error")
        elif kind in ("suggestion.accepted", "suggestion.rejected") and (mine or data.get("suggestion_id") in suggestions):
            decisions.add(kind)
        elif kind == "code.retention" and data.get("suggestion_id") in suggestions:
            checkpoint = retention_checkpoint(data["elapsed_s"])
            if checkpoint is not None and data.get("total_chars"):
                pair = retained[_CHECKPOINT_LABELS[checkpoint]]
                pair[0] += data["retained_chars"]
                pair[1] += data["total_chars"]
        elif kind in OUTCOME_TYPES and task_id and event.get("task_id") == task_id:
            if kind == "task.finished":
                outcome = outcome or data["outcome"]  # the first finish counts, as in the rollups
            else:
                ratings.append(1.0 if data["rating"] == "up" else -1.0)
    accepted = None
    if decisions:
        accepted = "suggestion.accepted" in decisions  # accepted anywhere beats a rejection elsewhere
    prompt = payload.get("prompt")
    response = payload.get("response")
    return CompletionFacts(
        request_id=request_id,
        prompt_fingerprint=payload.get("prompt_fingerprint", ""),
        model_version=completion.get("model_version", ""),
        session_id=completion.get("session_id", ""),
        task_id=task_id,
        ts=str(completion.get("ts", "")),
        prompt=None if prompt is None else content_text(prompt),
        response=None if response is None else content_text(response),
        suggestion_ids=tuple(sorted(suggestions)),
        retention={label: kept / total for label, (kept, total) in sorted(retained.items()) if total},
        accepted=accepted,
        tool_calls=tool_calls,
        tool_errors=tool_errors,
        tokens=tokens,
        task_outcome=outcome,
        feedback=sum(ratings) / len(ratings) if ratings else None,
    )
