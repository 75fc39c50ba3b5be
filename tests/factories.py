"""Builders of valid schema-v1 events for tests."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

DEFAULT_PAYLOADS: dict[str, dict[str, Any]] = {
    "suggestion.shown": {"suggestion_id": "s1", "lines": 3, "chars": 60},
    "suggestion.accepted": {"suggestion_id": "s1", "lines": 3, "chars": 60},
    "suggestion.rejected": {"suggestion_id": "s1", "lines": 3, "chars": 60},
    "code.retention": {"suggestion_id": "s1", "elapsed_s": 300, "retained_chars": 45, "total_chars": 60},
    "tool.call": {"tool": "shell", "status": "success", "exit_code": 0, "duration_ms": 120},
    "llm.usage": {"input_tokens": 1200, "output_tokens": 300, "cache_read_tokens": 100},
    "llm.completion": {
        "request_id": "req-1",
        "prompt": [{"role": "user", "content": "List the files in src."}],
        "response": "$ ls src",
        "finish_reason": "stop",
        "suggestion_ids": ["s1"],
    },
    "task.finished": {"outcome": "success", "turns": 3},
    "feedback": {"rating": "up"},
}


def make_event(
    type_: str = "tool.call",
    *,
    payload: dict[str, Any] | None = None,
    version: str = "v1",
    session_id: str = "sess-1",
    task_id: str | None = "task-1",
    os: str = "linux",
    shell: str = "bash",
    ts: datetime | None = None,
    **envelope: Any,
) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.uuid4()),
        "type": type_,
        "ts": (ts or datetime(2026, 11, 20, 10, 15, tzinfo=timezone.utc)).isoformat(),
        "session_id": session_id,
        "user": "alice@example.com",
        "client": {"ide": "vscode", "ide_version": "1.95", "os": os, "shell": shell},
        "model": {"name": "flywheel-coder", "version": version},
        "repo": {"id": "repo-1", "language": "python"},
        "payload": dict(DEFAULT_PAYLOADS[type_] if payload is None else payload),
    }
    if task_id is not None:
        event["task_id"] = task_id
    event.update(envelope)
    return event


def api_client_for(org):
    """A DRF test client authenticated with a fresh API key of ``org``."""
    from rest_framework.test import APIClient

    from telemetry.services import api_key_create

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(org=org)}")
    return api
