"""Storing a batch of bus messages: idempotent insert plus incremental rollups.

``messages_store`` is the one handler behind both the Kafka consumer and the embedded
in-process bus. It runs in one transaction: events are inserted with
``ON CONFLICT DO NOTHING RETURNING``, and only the events actually inserted add to the
rollups, so a redelivered message (after a consumer crash, a broker retry or a DLQ
replay) changes nothing.
"""
from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.db import DatabaseError, InterfaceError, OperationalError, transaction

from telemetry.messages import MessageDecodeError, StoredEvent, message_decode, stored_event_encode
from telemetry.metrics import retention_checkpoint
from telemetry.models import (
    RETENTION_LABELS,
    ROLLUP_DIMENSIONS,
    Event,
    HourlyRollup,
    IngestMinute,
    Organization,
    Task,
    ToolErrorRollup,
)

logger = logging.getLogger("flywheel.telemetry.store")

EVENT_COLUMNS = (
    "org_id", "event_id", "type", "ts", "received_at", "session_id", "task_id", "user_hash",
    "model_name", "model_version", "os", "shell", "ide", "ide_version", "language", "repo_id",
    "tool", "payload",
)
INSERT_CHUNK_ROWS = 500
RollupKey = tuple  # (org_id, model_version, hour, os, shell, ide, language, tool)


def _bulk_cursor(db):
    """A cursor binding parameters on the server (PostgreSQL): the one JSON parameter of a
    bulk statement travels as it is instead of being quoted into the SQL text."""
    if db.vendor != "postgresql":
        return db.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    db.ensure_connection()
    return db.make_cursor(ServerBindingCursor(db.connection))


def _rows_source(db, fields: Sequence[Any], rows: list[list[Any]]) -> tuple[str, list[Any]]:
    """Rows of plain Python values (int, str, aware datetime, dict/list for JSON columns,
    None) as the source of an INSERT, with its parameters: on PostgreSQL ``_json_source``,
    elsewhere (SQLite) ``VALUES (..), (..)`` with Django's own preparation of each value."""
    if db.vendor == "postgresql":
        columns = [f.column for f in fields]
        return _json_source(db, fields, [dict(zip(columns, row)) for row in rows])
    placeholders = ",".join(["(" + ",".join(["%s"] * len(fields)) + ")"] * len(rows))
    return f"VALUES {placeholders}", [f.get_db_prep_value(v, db, prepared=False) for row in rows for f, v in zip(fields, row)]


def _json_source(db, fields: Sequence[Any], objects: list[dict[str, Any]], *, numbered: bool = False) -> tuple[str, list[Any]]:
    """PostgreSQL: ``objects`` (plain values keyed by the fields' columns) as one JSON document
    read by ``json_to_recordset``, typed by the fields' columns; ``numbered`` adds a
    ``position`` column, each object's place in ``objects`` (from 1).

    orjson encodes the whole batch in C and the server parses it in C: binding every value
    through psycopg's per-value adaptation (arrays per column) cost more than the database's
    own work.
    """
    columns = [f'"{f.column}"' for f in fields]
    function = f"json_to_recordset(%s::json) AS ({','.join(f'{c} {f.db_type(db)}' for c, f in zip(columns, fields))})"
    ordinality = f" WITH ORDINALITY AS source({','.join(columns)},position)" if numbered else " AS source"
    return f"SELECT * FROM ROWS FROM ({function}){ordinality}", [orjson.dumps(objects, default=_json_default).decode()]


def _json_default(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored")


@dataclass(frozen=True)
class DeadLetterItem:
    key: str
    value: bytes
    reason: str
    detail: str


@dataclass
class StoreResult:
    inserted: int = 0
    duplicates: int = 0
    dead_letters: list[DeadLetterItem] = field(default_factory=list)


def messages_store(*, messages: Sequence[tuple[str, bytes]]) -> StoreResult:
    """Store the events of (key, value) messages exactly once; what can't be stored comes back
    as dead letters, one per event (a message that cannot be decoded at all: as it came).

    A batch that fails for a reason other than the database being away is split in halves
    and retried, so one poison event is isolated (dead-lettered as ``store_failed``)
    instead of blocking its partition forever.

    Raises django.db.OperationalError/InterfaceError when the database is away: the caller
    must then retry the same batch (nothing of it was committed).
    """
    result = StoreResult()
    decoded: list[tuple[str, StoredEvent]] = []
    for key, value in messages:
        try:
            message = message_decode(value)
        except MessageDecodeError as exc:
            result.dead_letters.append(DeadLetterItem(key, value, exc.reason, exc.detail))
            continue
        decoded.extend((key, stored) for stored in message.events)
        result.dead_letters.extend(DeadLetterItem(key, event_value, exc.reason, exc.detail) for event_value, exc in message.invalid)
    known, unknown_org = _split_known_orgs(decoded)
    for key, stored in unknown_org:
        result.dead_letters.append(DeadLetterItem(key, stored_event_encode(stored), "unknown_org", f"organization {stored.org_id} does not exist"))
    stored = _events_store(known)
    result.inserted, result.duplicates = stored.inserted, stored.duplicates
    result.dead_letters.extend(stored.dead_letters)
    return result


def _events_store(events: list[tuple[str, StoredEvent]]) -> StoreResult:
    """``_events_store_once``, splitting the batch in halves around an event that cannot be stored."""
    if not events:
        return StoreResult()
    try:
        return _events_store_once([stored for _, stored in events])
    except (OperationalError, InterfaceError):
        raise
    except (DatabaseError, KeyError, TypeError, ValueError, AttributeError) as exc:
        if len(events) == 1:
            key, stored = events[0]
            logger.warning("dead-lettering an event that cannot be stored: %r", exc)
            return StoreResult(dead_letters=[DeadLetterItem(key, stored_event_encode(stored), "store_failed", f"{type(exc).__name__}: {exc}")])
        middle = len(events) // 2
        first, second = _events_store(events[:middle]), _events_store(events[middle:])
        return StoreResult(
            inserted=first.inserted + second.inserted,
            duplicates=first.duplicates + second.duplicates,
            dead_letters=first.dead_letters + second.dead_letters,
        )


def _events_store_once(decoded: list[StoredEvent]) -> StoreResult:
    # One per (org, event id) before the INSERT; ids compare as UUIDs (case-insensitive), as the column does.
    unique = list({(s.org_id, s.event["event_id"].lower()): s for s in decoded}.values())
    with transaction.atomic():
        inserted = _events_insert(unique)
        _rollups_apply(inserted)
    return StoreResult(inserted=len(inserted), duplicates=len(decoded) - len(inserted))


def _split_known_orgs(decoded: list[tuple[str, StoredEvent]]) -> tuple[list[tuple[str, StoredEvent]], list[tuple[str, StoredEvent]]]:
    org_ids = {s.org_id for _, s in decoded}
    known = set(Organization.objects.filter(id__in=org_ids).values_list("id", flat=True)) if org_ids else set()
    return [item for item in decoded if item[1].org_id in known], [item for item in decoded if item[1].org_id not in known]


def _event_row(stored: StoredEvent) -> dict[str, Any]:
    event = stored.event
    client, model, repo = event.get("client") or {}, event["model"], event.get("repo") or {}
    ts = datetime.fromisoformat(event["ts"])
    if ts.tzinfo is None or stored.received_at.tzinfo is None:  # Django would warn and assume UTC; nothing of ours is naive
        raise ValueError(f"a naive date-time reached the store (ts {event['ts']!r})")
    return {
        "org_id": stored.org_id,
        "event_id": event["event_id"],
        "type": event["type"],
        "ts": ts,
        "received_at": stored.received_at,
        "session_id": event["session_id"],
        "task_id": event.get("task_id") or "",
        "user_hash": event.get("user_hash") or "",
        "model_name": model.get("name", ""),
        "model_version": model["version"],
        "os": client.get("os") or "",
        "shell": client.get("shell") or "",
        "ide": client.get("ide") or "",
        "ide_version": client.get("ide_version") or "",
        "language": repo.get("language") or "",
        "repo_id": repo.get("id") or "",
        "tool": (event.get("payload") or {}).get("tool", "") if event["type"] == "tool.call" else "",
        "payload": event.get("payload") or {},
    }


def _events_insert(batch: list[StoredEvent]) -> list[dict[str, Any]]:
    """Insert events, skipping (org, event_id) pairs already stored; return the inserted rows, in order."""
    rows = [_event_row(s) for s in batch]
    fields = [Event._meta.get_field(c.removesuffix("_id") if c == "org_id" else c) for c in EVENT_COLUMNS]
    columns = ",".join(EVENT_COLUMNS)
    table = Event._meta.db_table
    db = transaction.get_connection()
    inserted: list[dict[str, Any]] = []
    for start in range(0, len(rows), INSERT_CHUNK_ROWS):
        chunk = rows[start:start + INSERT_CHUNK_ROWS]
        if db.vendor == "postgresql":
            # The statement answers the positions of the rows it inserted: no per-row key to rebuild.
            source, params = _json_source(db, fields, chunk, numbered=True)
            sql = (
                f"WITH source AS ({source}), inserted AS ("
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM source "
                f"ON CONFLICT (org_id, event_id) DO NOTHING RETURNING org_id, event_id) "
                f"SELECT source.position FROM source JOIN inserted USING (org_id, event_id) ORDER BY source.position"
            )
            with _bulk_cursor(db) as cursor:
                cursor.execute(sql, params)
                inserted.extend(chunk[position - 1] for (position,) in cursor.fetchall())
            continue
        source, params = _rows_source(db, fields, [[row[c] for c in EVENT_COLUMNS] for row in chunk])
        with _bulk_cursor(db) as cursor:
            cursor.execute(f"INSERT INTO {table} ({columns}) {source} ON CONFLICT (org_id, event_id) DO NOTHING RETURNING org_id, event_id", params)
            # SQLite returns the 32-digit hex Django stores.
            returned = {(org_id, uuid.UUID(str(event_id))) for org_id, event_id in cursor.fetchall()}
        inserted.extend(row for row in chunk if (row["org_id"], uuid.UUID(row["event_id"])) in returned)
    return inserted


def _hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def _rollup_key(row: dict[str, Any]) -> RollupKey:
    return (row["org_id"], row["model_version"], _hour(row["ts"]), row["os"], row["shell"], row["ide"], row["language"], row["tool"])


def _event_deltas(row: dict[str, Any]) -> dict[str, int]:
    """Counter increments one stored event contributes to its rollup row."""
    payload, kind = row["payload"], row["type"]
    deltas = {"events": 1}
    if kind == "suggestion.shown":
        deltas["suggestions_shown"] = 1
    elif kind == "suggestion.accepted":
        deltas.update(suggestions_accepted=1, accepted_lines=payload.get("lines", 0), accepted_chars=payload.get("chars", 0))
    elif kind == "suggestion.rejected":
        deltas["suggestions_rejected"] = 1
    elif kind == "tool.call":
        deltas.update(tool_calls=1, tool_errors=int(payload["status"] == "error"))
    elif kind == "llm.usage":
        deltas.update(
            llm_requests=1,
            input_tokens=payload["input_tokens"],
            output_tokens=payload["output_tokens"],
            cache_tokens=payload.get("cache_read_tokens", 0) + payload.get("cache_write_tokens", 0),
        )
    elif kind == "feedback":
        deltas["feedback_up" if payload["rating"] == "up" else "feedback_down"] = 1
    elif kind == "code.retention":
        checkpoint = retention_checkpoint(payload["elapsed_s"])
        if checkpoint is not None:
            label = RETENTION_LABELS[checkpoint]
            retained, total = payload["retained_chars"], payload["total_chars"]
            deltas.update({
                f"retention_{label}_retained": retained,
                f"retention_{label}_total": total,
                f"retention_{label}_checks": 1,
                f"retention_{label}_unchanged": int(payload["unchanged"]),
                f"retention_{label}_mostly_unchanged": int(payload["mostly_unchanged"]),
                f"retention_{label}_retained_sq": retained * retained,
                f"retention_{label}_total_sq": total * total,
                f"retention_{label}_cross": retained * total,
            })
    return deltas


def _usage_tokens(payload: dict[str, Any]) -> int:
    return payload["input_tokens"] + payload["output_tokens"] + payload.get("cache_read_tokens", 0) + payload.get("cache_write_tokens", 0)


def _rollups_apply(rows: list[dict[str, Any]]) -> None:
    rollups: dict[RollupKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    tool_errors: dict[tuple, int] = defaultdict(int)
    minutes: dict[tuple, int] = defaultdict(int)
    for row in rows:
        key = _rollup_key(row)
        for counter, delta in _event_deltas(row).items():
            rollups[key][counter] += delta
        if row["type"] == "tool.call" and row["payload"]["status"] == "error":
            tool_errors[(row["org_id"], row["model_version"], key[2], row["os"], row["shell"], row["tool"], row["payload"]["error_kind"])] += 1
        minutes[(row["org_id"], row["received_at"].replace(second=0, microsecond=0))] += 1
    _tasks_apply(rows, rollups)
    counters_add(HourlyRollup, ("org_id", *ROLLUP_DIMENSIONS), rollups)
    counters_add(
        ToolErrorRollup,
        ("org_id", "model_version", "hour", "os", "shell", "tool", "error_kind"),
        {key: {"count": n} for key, n in tool_errors.items()},
    )
    counters_add(IngestMinute, ("org_id", "minute"), {key: {"stored": n} for key, n in minutes.items()})


def _tasks_apply(rows: list[dict[str, Any]], rollups: dict[RollupKey, dict[str, int]]) -> None:
    """Count each task's tokens under the rollup of its ``task.finished`` event.

    Tokens may arrive before or after the finish; those arriving after go to the rollup
    the task was counted under. A task counts as finished once, whatever is replayed.
    """
    tokens: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    finishes: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        if not row["task_id"]:
            continue
        task_key = (row["org_id"], row["task_id"])
        if row["type"] == "llm.usage":
            payload = row["payload"]
            tokens[task_key]["input_tokens"] += payload["input_tokens"]
            tokens[task_key]["output_tokens"] += payload["output_tokens"]
            tokens[task_key]["cache_tokens"] += payload.get("cache_read_tokens", 0) + payload.get("cache_write_tokens", 0)
        elif row["type"] == "task.finished":
            finishes.setdefault(task_key, row)
    touched = set(tokens) | set(finishes)
    if not touched:
        return
    existing = _tasks_existing(touched)
    updates: list[tuple[tuple[int, str], dict[str, int], dict | None, list | None]] = []
    for task_key in sorted(touched):
        delta = tokens.get(task_key, {})
        delta_total = sum(delta.values())
        previous = existing.get(task_key)
        prior_total = 0 if previous is None else previous.input_tokens + previous.output_tokens + previous.cache_tokens
        finish = finishes.get(task_key)
        if previous is not None and previous.finished_at is not None:
            counters = rollups[(task_key[0], *_decode_rollup_key(previous.rollup_key))]
            counters["finished_task_tokens"] += delta_total
            # Keep the sum of squares exact: (a + d)^2 - a^2 = 2ad + d^2.
            counters["finished_task_tokens_sq"] += 2 * prior_total * delta_total + delta_total * delta_total
            finish = None
        rollup_key = None
        if finish is not None:
            key = _rollup_key(finish)
            total = prior_total + delta_total
            counters = rollups[key]
            counters["tasks_finished"] += 1
            counters["tasks_succeeded"] += int(finish["payload"]["outcome"] == "success")
            counters["finished_task_tokens"] += total
            counters["finished_task_tokens_sq"] += total * total
            rollup_key = _encode_rollup_key(key)
        updates.append((task_key, delta, finish, rollup_key))
    _tasks_upsert(updates)


def _tasks_existing(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Task]:
    by_org: dict[int, list[str]] = defaultdict(list)
    for org_id, task_id in keys:
        by_org[org_id].append(task_id)
    found: dict[tuple[int, str], Task] = {}
    for org_id, task_ids in by_org.items():
        for task in Task.objects.select_for_update().filter(org_id=org_id, task_id__in=task_ids):
            found[(org_id, task.task_id)] = task
    return found


def _encode_rollup_key(key: RollupKey) -> list:
    return [key[1], key[2].isoformat(), *key[3:]]


def _decode_rollup_key(encoded: list) -> list:
    return [encoded[0], datetime.fromisoformat(encoded[1]), *encoded[2:]]


TASK_COUNTERS = ("input_tokens", "output_tokens", "cache_tokens")


def _tasks_upsert(updates: list[tuple[tuple[int, str], dict[str, int], dict | None, list | None]]) -> None:
    """Add token deltas to tasks and record first finishes: one ``INSERT .. ON CONFLICT`` per chunk.

    ``updates`` are (task key, token deltas, finish row or None, encoded rollup key or None),
    in task key order (one lock order for concurrent consumers). A task already finished
    keeps its finish, outcome and rollup key.
    """
    if not updates:
        return
    table = Task._meta.db_table
    columns = ("org_id", "task_id", *TASK_COUNTERS, "finished_at", "outcome", "rollup_key")
    db_fields = [Task._meta.get_field(c.removesuffix("_id") if c == "org_id" else c) for c in columns]
    unfinished = f"{table}.finished_at IS NULL"
    sets = [f"{c} = {table}.{c} + excluded.{c}" for c in TASK_COUNTERS] + [
        f"finished_at = COALESCE({table}.finished_at, excluded.finished_at)",
        f"outcome = CASE WHEN {unfinished} THEN excluded.outcome ELSE {table}.outcome END",
        f"rollup_key = CASE WHEN {unfinished} THEN excluded.rollup_key ELSE {table}.rollup_key END",
    ]
    db = transaction.get_connection()
    for start in range(0, len(updates), INSERT_CHUNK_ROWS):
        chunk = updates[start:start + INSERT_CHUNK_ROWS]
        prepared = []
        for (org_id, task_id), delta, finish, rollup_key in chunk:
            values = [
                org_id, task_id, *(delta.get(c, 0) for c in TASK_COUNTERS),
                finish["ts"] if finish is not None else None,
                finish["payload"]["outcome"] if finish is not None else "",
                rollup_key if finish is not None else None,
            ]
            prepared.append(values)
        source, params = _rows_source(db, db_fields, prepared)
        sql = (
            f"INSERT INTO {table} ({','.join(columns)}) {source} "
            f"ON CONFLICT (org_id, task_id) DO UPDATE SET {','.join(sets)}"
        )
        with _bulk_cursor(db) as cursor:
            cursor.execute(sql, params)


def counters_add(model, key_columns: tuple[str, ...], counters_by_key: dict[tuple, dict[str, int]]) -> None:
    """Add counters to rows of ``model`` keyed by ``key_columns``, creating missing rows.

    ``INSERT .. ON CONFLICT (key) DO UPDATE SET c = c + excluded.c`` for each row, in key order.

    Sorting the keys gives concurrent consumers one lock order, so they cannot deadlock.
    """
    if not counters_by_key:
        return
    table = model._meta.db_table
    counter_columns = sorted({c for counters in counters_by_key.values() for c in counters})
    columns = [*key_columns, *counter_columns]
    db_fields = [model._meta.get_field(c.removesuffix("_id") if c == "org_id" else c) for c in columns]
    keys = sorted(counters_by_key, key=lambda k: tuple(str(part) for part in k))
    updates = ",".join(f"{c} = {table}.{c} + excluded.{c}" for c in counter_columns)
    conflict = ",".join(key_columns)
    db = transaction.get_connection()
    for start in range(0, len(keys), INSERT_CHUNK_ROWS):
        chunk = keys[start:start + INSERT_CHUNK_ROWS]
        if db.vendor == "postgresql":
            # Only the counters a row adds to travel; the others read as NULL, i.e. 0.
            source, params = _json_source(db, db_fields, [{**dict(zip(key_columns, key)), **counters_by_key[key]} for key in chunk])
            values = ",".join([*key_columns, *(f"COALESCE({c}, 0)" for c in counter_columns)])
            source = f"SELECT {values} FROM ({source}) AS counters"
        else:
            source, params = _rows_source(db, db_fields, [[*key, *(counters_by_key[key].get(c, 0) for c in counter_columns)] for key in chunk])
        sql = f"INSERT INTO {table} ({','.join(columns)}) {source} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        with _bulk_cursor(db) as cursor:
            cursor.execute(sql, params)
