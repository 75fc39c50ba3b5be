"""The bus message: one normalized event of one org, as JSON bytes (pure, no Django).

The same bytes travel through Kafka and through the embedded in-process bus, so both
paths run the same consumer code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MESSAGE_VERSION = 1


class MessageDecodeError(ValueError):
    """A message that can never be stored; it belongs in the dead-letter queue."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class BusMessage:
    key: str
    value: bytes


@dataclass(frozen=True)
class StoredEvent:
    """A decoded message, ready to be stored."""

    org_id: int
    received_at: datetime
    event: dict[str, Any]


def message_encode(*, org_id: int, received_at: datetime, event: dict[str, Any]) -> BusMessage:
    body = {"v": MESSAGE_VERSION, "org_id": org_id, "received_at": received_at.isoformat(), "event": event}
    return BusMessage(key=event["session_id"], value=json.dumps(body, separators=(",", ":")).encode())


def message_decode(value: bytes) -> StoredEvent:
    """Decode one message; raise MessageDecodeError when it can never be stored."""
    try:
        body = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageDecodeError("undecodable", str(exc)) from exc
    if not isinstance(body, dict) or body.get("v") != MESSAGE_VERSION:
        raise MessageDecodeError("unknown_version", f"expected message version {MESSAGE_VERSION}")
    try:
        event = body["event"]
        stored = StoredEvent(
            org_id=int(body["org_id"]),
            received_at=datetime.fromisoformat(body["received_at"]),
            event=event,
        )
        for field in ("event_id", "type", "ts", "session_id"):
            if not isinstance(event[field], str):
                raise TypeError(f"event.{field} must be a string")
        datetime.fromisoformat(event["ts"])
        event["model"]["version"]
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageDecodeError("invalid_message", f"{type(exc).__name__}: {exc}") from exc
    return stored
