"""The schema-v1 envelope every mapped event shares, and its validation.

``event_id``: ``flywheel.event_id`` if a UUID, else a UUIDv5 of the record's identity
(resource attributes, scope, times, name, attributes, body, trace/span ids; for metrics the
series, start and time), so a client re-sending the same export is idempotent.
``session_id`` ← session.id (gen_ai.conversation.id); ``task_id`` ← prompt.id/prompt_id;
``user`` ← user.email, user.id or installation.id; ``model.name`` ← model,
gen_ai.response.model, gen_ai.request.model, else the model another record of the same
prompt/session in this export names, else a ``flywheel.model`` resource attribute;
``model.version`` ← ``flywheel.model_version`` (record, else resource) else the name;
``client`` ← service.name (ide), service.version (ide_version), os.type (darwin → macos,
linux, windows, else other), shell ← shell/flywheel.shell, else terminal.type; ``ts`` ←
time_unix_nano, else observed_time_unix_nano, else the event.timestamp attribute.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from telemetry.otlp.common import (
    LABEL_CHARS,
    SHELL_CHARS,
    SHORT_CHARS,
    USER_CHARS,
    Attrs,
    Draft,
    Mapper,
    MappingOptions,
    MappingResult,
    RecordInvalid,
    Source,
    as_text,
    put,
)
from telemetry.schemas import OPERATING_SYSTEMS, event_validate


EVENT_ID_NAMESPACE = uuid.UUID("5b0f3c1e-8d7a-5d38-9a6e-6f746c700001")


def nanos_to_iso(nanos: int) -> str | None:
    """An RFC 3339 UTC timestamp from Unix nanoseconds; None when 0 or out of range."""
    if nanos <= 0:
        return None
    try:
        return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=nanos // 1000)).isoformat()
    except OverflowError:
        return None


def _iso_attribute(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


_OS_NAMES = {"darwin": "macos", "macos": "macos", "linux": "linux", "windows": "windows", "win32": "windows"}


def normalize_os(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    name = _OS_NAMES.get(value.strip().lower(), "other")
    return name if name in OPERATING_SYSTEMS else "other"


def _client(attrs: Attrs) -> dict[str, Any]:
    client: dict[str, Any] = {}
    put(client, "ide", as_text(attrs.resource.get("service.name"), LABEL_CHARS))
    put(client, "ide_version", as_text(attrs.resource.get("service.version"), LABEL_CHARS))
    put(client, "os", normalize_os(attrs.get("os.type")))
    shell = attrs.get("shell", "flywheel.shell", "terminal.type")
    put(client, "shell", as_text(shell, SHELL_CHARS) if isinstance(shell, str) else None)
    return client


def _model(source: Source) -> dict[str, Any] | None:
    attrs = source.attrs
    name = attrs.own("model", "gen_ai.response.model", "gen_ai.request.model") or source.model_hint or attrs.get("flywheel.model")
    if name is None:
        return None  # the schema then names the missing field
    version = attrs.get("flywheel.model_version") or name
    return {"name": name, "version": version}


def _event_id(source: Source, part: str) -> str:
    explicit = source.attrs.own("flywheel.event_id", "event.id")
    if isinstance(explicit, str) and not part:
        try:
            return str(uuid.UUID(explicit))
        except ValueError:
            pass
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source.identity}/{part}"))


def event_build(source: Source, draft: Draft) -> dict[str, Any]:
    """The schema-v1 event for one draft: the envelope every mapped event shares."""
    attrs = source.attrs
    ts = nanos_to_iso(source.time_unix_nano) or _iso_attribute(attrs.own("event.timestamp"))
    if ts is None:
        raise RecordInvalid("ts: the record has no time_unix_nano, observed_time_unix_nano or event.timestamp")
    event: dict[str, Any] = {"event_id": _event_id(source, draft.part), "type": draft.type, "ts": ts, "payload": draft.payload}
    put(event, "session_id", attrs.get("session.id", "gen_ai.conversation.id"))
    task = attrs.own("prompt.id", "prompt_id")
    put(event, "task_id", as_text(task, SHORT_CHARS) if isinstance(task, str) else None)
    user = attrs.get("user.email", "user.id", "installation.id")
    put(event, "user", as_text(user, USER_CHARS) if isinstance(user, str) else None)
    put(event, "model", _model(source))
    client = _client(attrs)
    if client:
        event["client"] = client
    language = as_text(draft.language, LABEL_CHARS) if isinstance(draft.language, str) else None
    if language and language != "unknown":
        event["repo"] = {"language": language.lower()}
    return event


_FIELD_HINTS = {
    "session_id": " (send a session.id attribute)",
    "model": " (send a model attribute, or a flywheel.model resource attribute)",
}


def events_check(source: Source, drafts: list[Draft]) -> list[dict[str, Any]]:
    """Build and validate every event of one source; raise RecordInvalid naming the bad fields."""
    events = [event_build(source, draft) for draft in drafts]
    problems: list[str] = []
    for event in events:
        for error in event_validate(event):
            problems.append(f"{event['type']} {error.field}: {error.message[:200]}{_FIELD_HINTS.get(error.field, '')}")
    if problems:
        raise RecordInvalid("; ".join(dict.fromkeys(problems)))
    return events


def map_source(result: MappingResult, owner: int, source: Source, mapper: Mapper, options: MappingOptions, *, units: int) -> None:
    try:
        drafts = mapper(source, options)
        if not drafts:
            result.ignored += units
            return
        result.accept(owner, events_check(source, drafts), units=units, where=source.where)
    except RecordInvalid as exc:
        result.reject(units=units, where=source.where, reason=str(exc))
