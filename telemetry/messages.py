"""Bus messages: normalized events of one org, as JSON bytes (pure, no Django).

One message (one Kafka record) carries the events of one session from one request, up to
``MAX_MESSAGE_EVENTS_BYTES`` of them: the producer's cost is per record, and an IDE or CLI
batch is mostly one session, so a 100-event POST becomes a handful of records instead of
100. Records stay keyed by session id, so a session's events keep their partition and order.
The consumer still stores, deduplicates and dead-letters each event on its own (a bad event
goes to the dead-letter queue as a one-event message of its own).

The same bytes travel through Kafka and through the embedded in-process bus, so both
paths run the same consumer code. Version 1 messages (one ``event`` each) still decode.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

MESSAGE_VERSION = 2
SINGLE_EVENT_VERSION = 1
# Well under Kafka's default 1 MiB record limit; a larger single event still travels alone.
MAX_MESSAGE_EVENTS_BYTES = 256 * 1024


class MessageDecodeError(ValueError):
    """A message (or one event of it) that can never be stored; it belongs in the dead-letter queue."""

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
    """A decoded event, ready to be stored."""

    org_id: int
    received_at: datetime
    event: dict[str, Any]


@dataclass
class DecodedMessage:
    events: list[StoredEvent] = field(default_factory=list)
    invalid: list[tuple[bytes, MessageDecodeError]] = field(default_factory=list)
    """Events that can never be stored, each as a one-event message, with the reason."""


def _envelope(org_id: int, received_at: datetime) -> bytes:
    return b'{"v":%d,"org_id":%d,"received_at":%s,"events":[' % (MESSAGE_VERSION, org_id, orjson.dumps(received_at.isoformat()))


def messages_encode(*, org_id: int, received_at: datetime, events: Sequence[dict[str, Any]]) -> list[BusMessage]:
    """The messages for ``events`` of one org: per session, in order, at most
    ``MAX_MESSAGE_EVENTS_BYTES`` of encoded events each."""
    envelope = _envelope(org_id, received_at)
    by_session: dict[str, list[list[bytes]]] = {}
    sizes: dict[str, int] = {}
    for event in events:
        encoded = orjson.dumps(event)
        chunks = by_session.setdefault(event["session_id"], [[]])
        if chunks[-1] and sizes[event["session_id"]] + len(encoded) > MAX_MESSAGE_EVENTS_BYTES:
            chunks.append([])
            sizes[event["session_id"]] = 0
        chunks[-1].append(encoded)
        sizes[event["session_id"]] = sizes.get(event["session_id"], 0) + len(encoded) + 1
    return [
        BusMessage(key=session_id, value=envelope + b",".join(chunk) + b"]}")
        for session_id, chunks in by_session.items()
        for chunk in chunks
    ]


def message_encode(*, org_id: int, received_at: datetime, event: dict[str, Any]) -> BusMessage:
    """The message of one event alone."""
    return BusMessage(key=event["session_id"], value=_envelope(org_id, received_at) + orjson.dumps(event) + b"]}")


def stored_event_encode(stored: StoredEvent) -> bytes:
    """One event as a message of its own (what a dead letter holds)."""
    return _envelope(stored.org_id, stored.received_at) + orjson.dumps(stored.event) + b"]}"


def message_decode(value: bytes) -> DecodedMessage:
    """Decode one message; raise MessageDecodeError when none of it can ever be stored.

    An event of it that can never be stored comes back in ``invalid``, the others in ``events``.
    """
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise MessageDecodeError("undecodable", str(exc)) from exc
    version = body.get("v") if isinstance(body, dict) else None
    if version not in (MESSAGE_VERSION, SINGLE_EVENT_VERSION):
        raise MessageDecodeError("unknown_version", f"expected message version {MESSAGE_VERSION} (or {SINGLE_EVENT_VERSION})")
    try:
        org_id = int(body["org_id"])
        received_at = datetime.fromisoformat(body["received_at"])
        events = [body["event"]] if version == SINGLE_EVENT_VERSION else body["events"]
        if not isinstance(events, list):
            raise TypeError("events must be a list")
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageDecodeError("invalid_message", f"{type(exc).__name__}: {exc}") from exc
    decoded = DecodedMessage()
    for event in events:
        stored = StoredEvent(org_id=org_id, received_at=received_at, event=event)
        try:
            _event_check(event)
        except (KeyError, TypeError, ValueError) as exc:
            error = MessageDecodeError("invalid_message", f"{type(exc).__name__}: {exc}")
            decoded.invalid.append((stored_event_encode(stored), error))
            continue
        decoded.events.append(stored)
    return decoded


def _event_check(event: Any) -> None:
    """Raise KeyError/TypeError/ValueError unless ``event`` has what storing it needs."""
    if not isinstance(event, dict):
        raise TypeError("an event must be an object")
    for name in ("event_id", "type", "ts", "session_id"):
        if not isinstance(event[name], str):
            raise TypeError(f"event.{name} must be a string")
    datetime.fromisoformat(event["ts"])
    event["model"]["version"]
