"""Dashboard read latency: every page's JSON endpoint on rollups, against the same numbers
computed from raw events, with N events (default 10 million) in PostgreSQL.

    scripts/services.sh start postgres
    eval "$(scripts/services.sh env)"
    .venv/bin/python benchmarks/dashboard.py --events 10000000

What it does, in one run:

1. Uses a dedicated database (``--database``, default ``flywheel_bench``) on the server
   of ``DATABASE_URL``: creates it, migrates it. A loaded dataset is kept and reused by
   later runs with the same ``--events/--days/--seed`` (``--reload`` forces a new one).
2. Checks the SQL aggregation against the real store: a small run (``--check-events``)
   goes through ``telemetry.services.events_ingest`` (embedded bus, the consumer's
   ``messages_store``), then the same events are aggregated with the SQL below; every
   counter of every rollup row must match.
3. Loads N synthetic events (sessions of agent tasks over ``--days`` days, 4 model versions
   rolled out one after another, 6 OS/shell/IDE clients, 5 languages, 4 tools) into
   ``telemetry_event`` with ``COPY``, then builds ``HourlyRollup``, ``ToolErrorRollup`` and
   ``IngestMinute`` from them with ``INSERT .. SELECT`` aggregation: the same counters the
   store keeps incrementally (the per-task token bookkeeping table ``Task`` is not filled:
   the rollups do not need it once every event is in).
4. Times each endpoint through Django's test client (full stack: URL routing, session
   auth, DRF, JSON), ``--repeats`` times after a warm-up: p50/p95/max.
5. Times the same selectors (same Python code, same report functions) with their reads
   swapped for SQL over raw events (``RawEvents`` below), ``--raw-repeats`` times, and the
   same selectors on rollups without HTTP; prints the p95 ratio raw / rollups, and checks
   that both produce identical payloads.

Results are printed and written to ``artifacts/benchmarks/dashboard.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._postgres import bench_database_url, database_ensure, django_setup  # noqa: E402

ORG_SLUG = "bench"
OTHER_ORG_SLUG = "bench-other"
CHECK_ORG_SLUG = "bench-check"
VERSIONS = (("bench-coder-v1", 0.30, 0.00), ("bench-coder-v2", 0.50, 0.25), ("bench-coder-v3", 0.62, 0.50), ("bench-coder-v4", 0.80, 0.75))
"""(name, quality, share of the period after which it starts serving traffic)"""
OTHER_VERSIONS = (("other-model-a", 0.4, 0.0), ("other-model-b", 0.6, 0.5))
CLIENTS = (
    ("windows", "powershell", "vscode"), ("windows", "cmd", "jetbrains"), ("linux", "bash", "vscode"),
    ("linux", "zsh", "neovim"), ("macos", "zsh", "vscode"), ("macos", "zsh", "cursor"),
)
LANGUAGES = ("python", "typescript", "go", "java", "rust")
TOOLS = ("shell", "read_file", "edit_file", "search")
ERROR_KINDS = {"shell": ("invalid_for_shell", "nonzero_exit", "timeout"), "read_file": ("invalid_arguments", "permission"),
               "edit_file": ("invalid_arguments",), "search": ("timeout",)}
CHECKPOINTS = ((30, 1.0), (120, 0.97), (300, 0.93), (600, 0.9), (3600, 0.85))
COMPACTED_TABLES = ("dashboard_dailyrollup, dashboard_versionhourrollup, dashboard_slicedailyrollup, dashboard_dailytoolerrorrollup, "
                    "dashboard_compactedday, dashboard_compactedversion, dashboard_rollupcompaction")
EVENT_COLUMNS = ("org_id", "event_id", "type", "ts", "received_at", "session_id", "task_id", "user_hash", "model_name",
                 "model_version", "os", "shell", "ide", "ide_version", "language", "repo_id", "tool", "payload")


# --- configuration --------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="raw events to load (default 10,000,000)")
    parser.add_argument("--days", type=int, default=28, help="period the events span, ending now (default 28)")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--repeats", type=int, default=50, help="timed requests per endpoint on rollups (default 50)")
    parser.add_argument("--raw-repeats", type=int, default=5, help="timed runs per endpoint on raw events (default 5)")
    parser.add_argument("--raw-budget-s", type=float, default=240, help="stop repeating a raw-events timing after this many seconds (default 240)")
    parser.add_argument("--check-events", type=int, default=20_000, help="events sent through the real store to check the SQL aggregation")
    parser.add_argument("--database", default="flywheel_bench", help="database to (re)use on DATABASE_URL's server")
    parser.add_argument("--reload", action="store_true", help="load a new dataset even if one of this size exists")
    parser.add_argument("--skip-raw", action="store_true", help="time rollups only")
    parser.add_argument("--output", default=str(ROOT / "artifacts" / "benchmarks" / "dashboard.json"))
    return parser.parse_args(argv)








# --- synthetic events -------------------------------------------------------------------


class _Clock:
    """Fast 'YYYY-MM-DD HH:MM:SS+00' strings from epoch seconds (hour prefixes cached)."""

    def __init__(self) -> None:
        self._hours: dict[int, str] = {}

    def __call__(self, epoch: int) -> str:
        hour, rest = divmod(epoch, 3600)
        prefix = self._hours.get(hour)
        if prefix is None:
            prefix = self._hours[hour] = time.strftime("%Y-%m-%d %H:", time.gmtime(hour * 3600))
        minute, second = divmod(rest, 60)
        return f"{prefix}{minute:02d}:{second:02d}+00"


def event_lines(*, org_id: int, events: int, start: datetime, days: int, seed: int,
                versions: Sequence[tuple[str, float, float]], id_prefix: int) -> Iterator[tuple[str, int]]:
    """COPY text lines of about ``events`` events of simulated sessions, in time order.

    Yields (line, events so far). Mirrors telemetry.synthetic: each session runs 1-5 agent
    tasks with LLM calls, tool calls (errors likelier on Windows shells and for worse
    versions), a suggestion accepted or rejected, retention checks at every checkpoint,
    a finish and sometimes feedback. Newer versions get more of the traffic.
    """
    rng = random.Random(seed)
    rand, randint, choice = rng.random, rng.randint, rng.choice
    clock = _Clock()
    t0 = int(start.timestamp())
    span = days * 86400 - 2 * 3600  # the last session starts 2 h before the end
    avg_session_events = 33
    sessions = max(1, events // avg_session_events)
    starts = sorted(t0 + int(rand() * span) for _ in range(sessions))
    version_starts = [(name, quality, t0 + int(offset * span)) for name, quality, offset in versions]
    emitted = 0
    for index, s_start in enumerate(starts):
        if emitted >= events:
            break
        live = [v for v in version_starts if v[2] <= s_start]
        name, quality = rng.choices(live, weights=[2 ** i for i in range(len(live))])[0][:2]
        os_name, shell, ide = choice(CLIENTS)
        language = choice(LANGUAGES)
        session = f"s{seed % 997}-{index}"
        common_tail = f"u{randint(0, 4999):04d}\tflywheel-coder\t{name}\t{os_name}\t{shell}\t{ide}\t1.0\t{language}\trepo-{randint(0, 199)}"
        windows = os_name == "windows"
        ts = s_start
        for t in range(randint(1, 5)):
            task = f"{session}-{t}"
            prefix_task = f"\t{session}\t{task}\t"
            for _turn in range(randint(1, 4)):
                ts += randint(2, 40)
                out_tokens = int(randint(100, 700) * (1.3 - 0.5 * quality))
                payload = f'{{"input_tokens": {randint(800, 4000)}, "output_tokens": {out_tokens}, "cache_read_tokens": {randint(0, 2000)}}}'
                emitted += 1
                yield (f"{org_id}\t{id_prefix:08x}{emitted:024x}\tllm.usage\t{clock(ts)}\t{clock(ts + 1)}{prefix_task}{common_tail}\t\t{payload}\n", emitted)
                tool = choice(TOOLS)
                p_error = 0.25 - 0.2 * quality + (0.15 + 0.1 * (1 - quality) if windows and tool == "shell" else 0.0)
                if rand() < p_error:
                    kind = "invalid_for_shell" if windows and tool == "shell" and rand() < 0.6 else choice(ERROR_KINDS[tool])
                    payload = f'{{"tool": "{tool}", "status": "error", "error_kind": "{kind}", "exit_code": 1, "duration_ms": {randint(5, 4000)}}}'
                else:
                    payload = f'{{"tool": "{tool}", "status": "success", "exit_code": 0, "duration_ms": {randint(5, 4000)}}}'
                emitted += 1
                yield (f"{org_id}\t{id_prefix:08x}{emitted:024x}\ttool.call\t{clock(ts)}\t{clock(ts + 1)}{prefix_task}{common_tail}\t{tool}\t{payload}\n", emitted)
            lines = randint(1, 30)
            chars = lines * randint(20, 60)
            suggestion = f'"suggestion_id": "{task}-s", "lines": {lines}, "chars": {chars}'
            emitted += 1
            yield (f"{org_id}\t{id_prefix:08x}{emitted:024x}\tsuggestion.shown\t{clock(ts)}\t{clock(ts + 1)}{prefix_task}{common_tail}\t\t{{{suggestion}}}\n", emitted)
            accepted = rand() < 0.55 + 0.3 * quality
            emitted += 1
            kind = "suggestion.accepted" if accepted else "suggestion.rejected"
            yield (f"{org_id}\t{id_prefix:08x}{emitted:024x}\t{kind}\t{clock(ts)}\t{clock(ts + 1)}{prefix_task}{common_tail}\t\t{{{suggestion}}}\n", emitted)
            if accepted:
                keep = min(1.0, 0.55 + 0.4 * quality + (rand() - 0.5) * 0.2)
                for elapsed, decay in CHECKPOINTS:
                    retained = min(chars, int(chars * keep * decay))
                    deleted = chars - retained
                    payload = (f'{{"suggestion_id": "{task}-s", "elapsed_s": {elapsed}, "retained_chars": {retained}, "total_chars": {chars}, '
                               f'"unchanged": {"true" if deleted == 0 else "false"}, "mostly_unchanged": {"true" if deleted < 0.33 * chars else "false"}}}')
                    emitted += 1
                    at = ts + elapsed
                    yield (f"{org_id}\t{id_prefix:08x}{emitted:024x}\tcode.retention\t{clock(at)}\t{clock(at + 1)}{prefix_task}{common_tail}\t\t{payload}\n", emitted)
            outcome = "success" if rand() < 0.5 + 0.4 * quality else choice(("failure", "abandoned"))
            emitted += 1
            yield (f"{org_id}\t{id_prefix:08x}{emitted:024x}\ttask.finished\t{clock(ts)}\t{clock(ts + 1)}{prefix_task}{common_tail}\t\t{{\"outcome\": \"{outcome}\", \"turns\": 2}}\n", emitted)
            if rand() < 0.1:
                rating = "up" if rand() < quality else "down"
                emitted += 1
                yield (f"{org_id}\t{id_prefix:08x}{emitted:024x}\tfeedback\t{clock(ts)}\t{clock(ts + 1)}{prefix_task}{common_tail}\t\t{{\"rating\": \"{rating}\"}}\n", emitted)


def events_copy(*, org_id: int, events: int, start: datetime, days: int, seed: int, versions, id_prefix: int, label: str) -> int:
    """COPY the synthetic events into telemetry_event; return how many."""
    from django.db import connection
    from tqdm import tqdm

    total = 0
    buffer: list[str] = []
    with connection.cursor() as cursor, tqdm(total=events, unit="ev", unit_scale=True, desc=f"COPY {label}", mininterval=1.0) as bar:
        with cursor.cursor.copy(f"COPY telemetry_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            last = 0
            for line, total in event_lines(org_id=org_id, events=events, start=start, days=days, seed=seed, versions=versions, id_prefix=id_prefix):
                buffer.append(line)
                if len(buffer) >= 20_000:
                    copy.write("".join(buffer))
                    buffer.clear()
                    bar.update(total - last)
                    last = total
            if buffer:
                copy.write("".join(buffer))
            bar.update(total - last)
    return total


# --- the same counters, computed from raw events in SQL -----------------------------------

RETENTION_BOUNDS = ("30s", "2m", "5m", "10m", "1h")


# Each event's fields, extracted once per row (the JSON is parsed only for the event types
# that carry them); the counters below aggregate these plain columns. Same deltas as
# telemetry/store.py: a retention check counts for the largest checkpoint T <= elapsed_s.
EVENT_FIELDS_SQL = {
    "type": "e.type",
    "is_error": "e.type = 'tool.call' AND e.payload->>'status' = 'error'",
    "acc_lines": "CASE WHEN e.type = 'suggestion.accepted' THEN coalesce((e.payload->>'lines')::bigint, 0) END",
    "acc_chars": "CASE WHEN e.type = 'suggestion.accepted' THEN coalesce((e.payload->>'chars')::bigint, 0) END",
    "in_tok": "CASE WHEN e.type = 'llm.usage' THEN (e.payload->>'input_tokens')::bigint END",
    "out_tok": "CASE WHEN e.type = 'llm.usage' THEN (e.payload->>'output_tokens')::bigint END",
    "cache_tok": "CASE WHEN e.type = 'llm.usage' THEN coalesce((e.payload->>'cache_read_tokens')::bigint, 0) + coalesce((e.payload->>'cache_write_tokens')::bigint, 0) END",
    "finished": "e.type = 'task.finished' AND e.task_id <> ''",  # the store counts only finishes with a task id
    "succeeded": "e.type = 'task.finished' AND e.task_id <> '' AND e.payload->>'outcome' = 'success'",
    "task_tokens": "CASE WHEN e.type = 'task.finished' AND e.task_id <> '' THEN coalesce(tt.tokens, 0) END",
    "checkpoint": ("CASE WHEN e.type = 'code.retention' THEN (CASE WHEN (e.payload->>'elapsed_s')::float >= 3600 THEN '1h' "
                   "WHEN (e.payload->>'elapsed_s')::float >= 600 THEN '10m' WHEN (e.payload->>'elapsed_s')::float >= 300 THEN '5m' "
                   "WHEN (e.payload->>'elapsed_s')::float >= 120 THEN '2m' WHEN (e.payload->>'elapsed_s')::float >= 30 THEN '30s' END) END"),
    "r": "CASE WHEN e.type = 'code.retention' THEN (e.payload->>'retained_chars')::bigint END",
    "t": "CASE WHEN e.type = 'code.retention' THEN (e.payload->>'total_chars')::bigint END",
    "unchanged": "e.type = 'code.retention' AND (e.payload->>'unchanged')::boolean",
    "mostly": "e.type = 'code.retention' AND (e.payload->>'mostly_unchanged')::boolean",
    "rating_up": "CASE WHEN e.type = 'feedback' THEN e.payload->>'rating' = 'up' END",
}


def _counter_sql() -> dict[str, str]:
    """Each rollup counter as an aggregate over the extracted fields ``x`` (EVENT_FIELDS_SQL)."""
    sql = {
        "events": "count(*)",
        "suggestions_shown": "count(*) FILTER (WHERE x.type = 'suggestion.shown')",
        "suggestions_accepted": "count(*) FILTER (WHERE x.type = 'suggestion.accepted')",
        "suggestions_rejected": "count(*) FILTER (WHERE x.type = 'suggestion.rejected')",
        "accepted_lines": "sum(x.acc_lines)",
        "accepted_chars": "sum(x.acc_chars)",
        "tool_calls": "count(*) FILTER (WHERE x.type = 'tool.call')",
        "tool_errors": "count(*) FILTER (WHERE x.is_error)",
        "llm_requests": "count(*) FILTER (WHERE x.type = 'llm.usage')",
        "input_tokens": "sum(x.in_tok)",
        "output_tokens": "sum(x.out_tok)",
        "cache_tokens": "sum(x.cache_tok)",
        "tasks_finished": "count(*) FILTER (WHERE x.finished)",
        "tasks_succeeded": "count(*) FILTER (WHERE x.succeeded)",
        "finished_task_tokens": "sum(x.task_tokens)",
        "finished_task_tokens_sq": "sum(x.task_tokens * x.task_tokens)",
        "feedback_up": "count(*) FILTER (WHERE x.rating_up)",
        "feedback_down": "count(*) FILTER (WHERE NOT x.rating_up)",
    }
    for label in RETENTION_BOUNDS:
        when = f"x.checkpoint = '{label}'"
        sql.update({
            f"retention_{label}_retained": f"sum(x.r) FILTER (WHERE {when})",
            f"retention_{label}_total": f"sum(x.t) FILTER (WHERE {when})",
            f"retention_{label}_checks": f"count(*) FILTER (WHERE {when})",
            f"retention_{label}_unchanged": f"count(*) FILTER (WHERE {when} AND x.unchanged)",
            f"retention_{label}_mostly_unchanged": f"count(*) FILTER (WHERE {when} AND x.mostly)",
            f"retention_{label}_retained_sq": f"sum(x.r * x.r) FILTER (WHERE {when})",
            f"retention_{label}_total_sq": f"sum(x.t * x.t) FILTER (WHERE {when})",
            f"retention_{label}_cross": f"sum(x.r * x.t) FILTER (WHERE {when})",
        })
    # sum(bigint) is numeric (NULL over no rows) in PostgreSQL: back to bigint 0, as Django's Sum() converts to int.
    return {name: expr if expr.startswith("count(") else f"coalesce({expr}, 0)::bigint" for name, expr in sql.items()}


COUNTER_SQL = _counter_sql()
TASK_TOKENS_CTE = (
    "task_tokens AS (SELECT task_id, sum((payload->>'input_tokens')::bigint + (payload->>'output_tokens')::bigint"
    " + coalesce((payload->>'cache_read_tokens')::bigint, 0) + coalesce((payload->>'cache_write_tokens')::bigint, 0)) AS tokens"
    " FROM telemetry_event WHERE org_id = %(org)s AND type = 'llm.usage' AND task_id <> '' GROUP BY task_id)"
)
GROUP_SQL = {"model_version": "e.model_version", "os": "e.os", "shell": "e.shell", "ide": "e.ide", "language": "e.language", "tool": "e.tool",
             "hour": "date_trunc('hour', e.ts)", "day": "date_trunc('day', e.ts)"}


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


def raw_counters_sql(*, counters: Sequence[str], group: Mapping[str, str], versions: Sequence[str] | None = None,
                     since: datetime | None = None, until: datetime | None = None, filters: Mapping[str, str] | None = None) -> str:
    """SELECT <group aliases>, <counters> over org %(org)s's raw events.

    The inner query extracts each event's fields once (``OFFSET 0`` keeps PostgreSQL from
    inlining it and re-parsing the JSON for every aggregate). Time filters keep rollup
    semantics: hour >= floor(since) and hour < until.
    """
    where = ["e.org_id = %(org)s"]
    if versions:
        where.append("e.model_version = ANY(%(versions)s)")
    if since is not None:
        where.append("e.ts >= %(since)s")
    if until is not None:
        where.append("e.ts < %(until)s")
    for name in (filters or {}):
        where.append(f"e.{name} = %(f_{name})s")
    needs_tasks = any(c.startswith("finished_task_tokens") for c in counters)
    fields = [f"{expr} AS g_{alias}" for alias, expr in group.items()] + [f"{expr} AS {name}" for name, expr in EVENT_FIELDS_SQL.items()]
    inner = f"SELECT {', '.join(fields)} FROM telemetry_event e"
    if needs_tasks:
        inner += " LEFT JOIN task_tokens tt ON e.type = 'task.finished' AND tt.task_id = e.task_id"
    else:
        inner = inner.replace("coalesce(tt.tokens, 0)", "0")
    inner += " WHERE " + " AND ".join(where) + " OFFSET 0"
    select = [f"x.g_{alias} AS {alias}" for alias in group] + [f"{COUNTER_SQL[c]} AS {c}" for c in counters]
    sql = (f"WITH {TASK_TOKENS_CTE} " if needs_tasks else "") + f"SELECT {', '.join(select)} FROM ({inner}) x"
    if group:
        sql += " GROUP BY " + ", ".join(f"x.g_{alias}" for alias in group)
    return sql


def raw_params(*, org_id: int, versions=None, since=None, until=None, filters=None) -> dict[str, Any]:
    params: dict[str, Any] = {"org": org_id}
    if versions:
        params["versions"] = list(versions)
    if since is not None:
        params["since"] = since.replace(minute=0, second=0, microsecond=0)
    if until is not None:
        params["until"] = _ceil_hour(until)
    for name, value in (filters or {}).items():
        params[f"f_{name}"] = value
    return params


def _fetch(sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


class RawEvents:
    """A dashboard.selectors.ReadSource that scans telemetry_event instead of the rollups."""

    @staticmethod
    def versions(*, org) -> list[dict[str, Any]]:
        return _fetch(
            "SELECT model_version, min(date_trunc('hour', ts)) AS first_seen, max(date_trunc('hour', ts)) AS last_seen, count(*) AS events"
            " FROM telemetry_event WHERE org_id = %(org)s GROUP BY model_version ORDER BY first_seen, model_version",
            {"org": org.id},
        )

    @staticmethod
    def totals(*, org, counters, group_by=("model_version",), bucket=None, versions=None, since=None, until=None, filters=None):
        group = {key: GROUP_SQL[key] for key in group_by}
        if bucket:
            group["bucket"] = GROUP_SQL[bucket]
        filters = {k: v for k, v in (filters or {}).items() if v is not None}
        sql = raw_counters_sql(counters=counters, group=group, versions=versions, since=since, until=until, filters=filters)
        return _fetch(sql, raw_params(org_id=org.id, versions=versions, since=since, until=until, filters=filters))

    @staticmethod
    def error_kinds(*, org, versions=None, since=None, until=None, filters=None):
        filters = dict(filters or {})
        where = ["org_id = %(org)s", "type = 'tool.call'", "payload->>'status' = 'error'"]
        if versions:
            where.append("model_version = ANY(%(versions)s)")
        if since is not None:
            where.append("ts >= %(since)s")
        if until is not None:
            where.append("ts < %(until)s")
        where += [f"{name} = %(f_{name})s" for name in filters]
        return _fetch(
            "SELECT model_version, payload->>'error_kind' AS error_kind, count(*) AS count FROM telemetry_event WHERE "
            + " AND ".join(where) + " GROUP BY 1, 2",
            raw_params(org_id=org.id, versions=versions, since=since, until=until, filters=filters),
        )

    @staticmethod
    def stored_per_minute(*, org, start, end):
        rows = _fetch(
            "SELECT date_trunc('minute', received_at) AS minute, count(*) AS stored FROM telemetry_event"
            " WHERE org_id = %(org)s AND received_at >= %(start)s AND received_at < %(end)s GROUP BY 1",
            {"org": org.id, "start": start, "end": end + timedelta(minutes=1)},
        )
        return {r["minute"]: r["stored"] for r in rows}


# --- rollups from raw events (INSERT .. SELECT) --------------------------------------------------


def rollups_build(org_id: int) -> None:
    """HourlyRollup, ToolErrorRollup and IngestMinute rows of ``org_id`` from its raw events."""
    from django.db import connection

    from telemetry.selectors import COUNTER_FIELDS

    group = {k: GROUP_SQL[k] for k in ("model_version", "hour", "os", "shell", "ide", "language", "tool")}
    select = raw_counters_sql(counters=list(COUNTER_FIELDS), group=group)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '512MB'")
        cursor.execute(
            f"INSERT INTO telemetry_hourlyrollup (model_version, hour, os, shell, ide, language, tool, {', '.join(COUNTER_FIELDS)}, org_id) "
            f"SELECT sub.*, %(org)s FROM ({select}) sub",
            {"org": org_id},
        )
        cursor.execute(
            "INSERT INTO telemetry_toolerrorrollup (org_id, model_version, hour, os, shell, tool, error_kind, count) "
            "SELECT org_id, model_version, date_trunc('hour', ts), os, shell, tool, payload->>'error_kind', count(*) "
            "FROM telemetry_event WHERE org_id = %(org)s AND type = 'tool.call' AND payload->>'status' = 'error' GROUP BY 1, 2, 3, 4, 5, 6, 7",
            {"org": org_id},
        )
        cursor.execute(
            "INSERT INTO telemetry_ingestminute (org_id, minute, stored) "
            "SELECT org_id, date_trunc('minute', received_at), count(*) FROM telemetry_event WHERE org_id = %(org)s GROUP BY 1, 2",
            {"org": org_id},
        )


def aggregation_check(*, events: int, seed: int) -> int:
    """Send ``events`` through the real store, rebuild their rollups in SQL; all must match."""
    from django.db import connection, transaction

    from telemetry.models import HourlyRollup
    from telemetry.selectors import COUNTER_FIELDS
    from telemetry.services import events_ingest, organization_get_or_create
    from telemetry.synthetic import burst

    org = organization_get_or_create(slug=CHECK_ORG_SLUG)
    with connection.cursor() as cursor:  # start from nothing: the store dedups re-sent events
        for table in ("telemetry_event", "telemetry_task", "telemetry_hourlyrollup", "telemetry_toolerrorrollup", "telemetry_ingestminute"):
            cursor.execute(f"DELETE FROM {table} WHERE org_id = %s", [org.id])
    generated = burst(seed=seed, sessions=max(1, events // 33), versions={"check-v1": 0.3, "check-v2": 0.7})
    for i in range(0, len(generated), 1000):
        result = events_ingest(org=org, events=generated[i:i + 1000])
        assert not result.rejected, result.rejected[:2]
    key = ("model_version", "hour", "os", "shell", "ide", "language", "tool")
    stored = {tuple(getattr(r, k) for k in key): {c: getattr(r, c) for c in COUNTER_FIELDS} for r in HourlyRollup.objects.filter(org=org)}
    with transaction.atomic():
        sid = transaction.savepoint()
        HourlyRollup.objects.filter(org=org).delete()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM telemetry_toolerrorrollup WHERE org_id = %s", [org.id])
            cursor.execute("DELETE FROM telemetry_ingestminute WHERE org_id = %s", [org.id])
        rollups_build(org.id)
        rebuilt = {tuple(getattr(r, k) for k in key): {c: getattr(r, c) for c in COUNTER_FIELDS} for r in HourlyRollup.objects.filter(org=org)}
        transaction.savepoint_rollback(sid)
    if stored != rebuilt:
        diff = [(k, c, stored.get(k, {}).get(c), rebuilt.get(k, {}).get(c)) for k in set(stored) | set(rebuilt) for c in COUNTER_FIELDS
                if stored.get(k, {}).get(c) != rebuilt.get(k, {}).get(c)]
        raise SystemExit(f"SQL aggregation differs from the store on {len(diff)} counters, e.g. {diff[:5]}")
    return len(generated)


# --- loading ------------------------------------------------------------------------------------------


def dataset_key(args: argparse.Namespace) -> str:
    return f"events={args.events} days={args.days} seed={args.seed} generator=2"


def dataset_present(key: str) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'dataset'")
        row = cursor.fetchone()
    return row is not None and row[0] == key


def dataset_load(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection

    from telemetry.services import organization_get_or_create, rejections_record

    timings: dict[str, float] = {}
    derived = f"telemetry_hourlyrollup, telemetry_toolerrorrollup, telemetry_ingestminute, telemetry_rejectionrollup, telemetry_deadletter, {COMPACTED_TABLES}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'events'")
        row = cursor.fetchone()
        events_present = row is not None and row[0] == dataset_key(args)
        cursor.execute("DELETE FROM bench_meta WHERE key = 'dataset'")
        # Raw events already COPYed by an interrupted run are kept; everything derived is rebuilt.
        cursor.execute(f"TRUNCATE {derived}" if events_present else f"TRUNCATE telemetry_event, telemetry_task, {derived}")
    t = time.perf_counter()
    checked = aggregation_check(events=args.check_events, seed=args.seed)
    timings["check_s"] = time.perf_counter() - t
    print(f"aggregation check: {checked} events through the real store; SQL rollups identical")
    org = organization_get_or_create(slug=ORG_SLUG, name="Benchmark")
    other = organization_get_or_create(slug=OTHER_ORG_SLUG, name="Other org")
    t = time.perf_counter()
    if events_present:
        with connection.cursor() as cursor:
            cursor.execute("SELECT org_id, count(*), max(received_at) FROM telemetry_event WHERE org_id IN (%s, %s) GROUP BY 1", [org.id, other.id])
            found = {org_id: (n, last) for org_id, n, last in cursor.fetchall()}
        loaded, other_loaded = found[org.id][0], found[other.id][0]
        end = max(last for _, last in found.values())
        print(f"reusing the {loaded:,} + {other_loaded:,} raw events already loaded")
    else:
        end = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        start = end - timedelta(days=args.days)
        loaded = events_copy(org_id=org.id, events=args.events, start=start, days=args.days, seed=args.seed, versions=VERSIONS, id_prefix=1, label=ORG_SLUG)
        other_loaded = events_copy(org_id=other.id, events=max(1000, args.events // 100), start=start, days=args.days, seed=args.seed + 1,
                                   versions=OTHER_VERSIONS, id_prefix=2, label=OTHER_ORG_SLUG)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM bench_meta WHERE key = 'events'")
            cursor.execute("INSERT INTO bench_meta (key, value) VALUES ('events', %s)", [dataset_key(args)])
    timings["copy_s"] = time.perf_counter() - t
    t = time.perf_counter()
    print("building rollups with INSERT .. SELECT (this scans every event once per table)...", flush=True)
    for org_id in (org.id, other.id):
        rollups_build(org_id)
    for hours_ago, reasons in ((1, {"invalid_payload": 12, "invalid_model": 3}), (5, {"invalid_ts": 4})):
        rejections_record(org=org, reasons=reasons, at=end - timedelta(hours=hours_ago))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("INSERT INTO bench_meta (key, value) VALUES ('dataset', %s)", [dataset_key(args)])
    timings["rollups_s"] = time.perf_counter() - t
    return {"events": loaded, "other_org_events": other_loaded, **timings}


def table_sizes() -> dict[str, Any]:
    """Exact row counts and on-disk sizes of the tables the comparison reads."""
    from django.db import connection

    tables = ("telemetry_event", "telemetry_hourlyrollup", "telemetry_toolerrorrollup", "telemetry_ingestminute", "dashboard_dailyrollup",
              "dashboard_versionhourrollup", "dashboard_slicedailyrollup", "dashboard_dailytoolerrorrollup")
    sizes = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")
            rows, size = cursor.fetchone()
            sizes[table] = {"rows": rows, "bytes": size}
    return sizes


# --- timing -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-q * len(ordered) // 100)))
    return ordered[int(rank) - 1]


def timed(fn: Callable[[], Any], repeats: int, warmup: int, budget_ms: float = float("inf")) -> tuple[list[float], Any]:
    """Run ``fn`` warmup times, then ``repeats`` timed times (fewer, at least one, past ``budget_ms``)."""
    result = None
    for _ in range(warmup):
        result = fn()
    samples: list[float] = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t) * 1000)
        if sum(samples) > budget_ms:
            break
    return samples, result


def endpoints(org) -> list[dict[str, Any]]:
    """Each page's data endpoint with its default parameters, and the same call to the selector."""
    from dashboard import selectors

    windows = {"os": "windows", "tool": "shell"}
    return [
        {"name": "overview", "page": "Overview", "url": "/dashboard/api/overview",
         "call": lambda src: selectors.overview_get(org=org, source=src)},
        {"name": "compare", "page": "Compare", "url": "/dashboard/api/compare",
         "call": lambda src: selectors.compare_get(org=org, source=src)},
        {"name": "trends (daily, all time)", "page": "Trends", "url": "/dashboard/api/trends",
         "call": lambda src: selectors.trends_get(org=org, source=src)},
        {"name": "trends (hourly, 7 days)", "page": "Trends", "url": "/dashboard/api/trends?bucket=hour&since={since7}",
         "call": lambda src, since7=None: selectors.trends_get(org=org, bucket="hour", since=since7, source=src), "since": 7},
        {"name": "breakdown (OS)", "page": "Breakdowns", "url": "/dashboard/api/breakdown?dimension=os",
         "call": lambda src: selectors.breakdown_get(org=org, dimension="os", source=src)},
        {"name": "breakdown (Windows terminal)", "page": "Breakdowns", "url": "/dashboard/api/breakdown?dimension=shell&os=windows&tool=shell",
         "call": lambda src: selectors.breakdown_get(org=org, dimension="shell", filters=windows, source=src)},
        {"name": "tool errors", "page": "Breakdowns", "url": "/dashboard/api/tool-errors",
         "call": lambda src: selectors.tool_errors_get(org=org, source=src)},
        {"name": "ingestion", "page": "Ingestion health", "url": "/dashboard/api/ingestion",
         "call": lambda src: selectors.ingestion_get(org=org, source=src)},
    ]


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, default=str)


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    from django.contrib.auth.models import User
    from django.test import Client

    from django.db import transaction

    from dashboard.models import CompactedVersion, RollupCompaction
    from dashboard.selectors import ROLLUPS, ReadSource
    from telemetry.models import Membership, Organization

    org = Organization.objects.get(slug=ORG_SLUG)
    user, _ = User.objects.get_or_create(username="bench")
    Membership.objects.get_or_create(user=user, org=org)
    client = Client()
    client.force_login(user)
    raw = ReadSource(versions=RawEvents.versions, totals=RawEvents.totals, error_kinds=RawEvents.error_kinds, stored_per_minute=RawEvents.stored_per_minute)
    # The 7-day window is fixed once, so that every run reads the same hours.
    since7 = (datetime.now(timezone.utc) - timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    results = []
    for spec in endpoints(org):
        url = spec["url"].format(since7=since7.isoformat().replace("+00:00", "Z"))
        call = (lambda src, f=spec["call"]: f(src, since7=since7)) if spec.get("since") else spec["call"]

        def http(url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
            return response

        http_ms, _ = timed(http, args.repeats, warmup=3)
        selector_ms, rollup_payload = timed(lambda: call(ROLLUPS), args.repeats, warmup=1)
        # The same with the daily compaction ignored (hourly rollups only), rolled back after.
        with transaction.atomic():
            RollupCompaction.objects.filter(org=org).delete()
            CompactedVersion.objects.filter(org=org).delete()
            hourly_ms, _ = timed(http, max(5, args.repeats // 2), warmup=1)
            hourly_payload = call(ROLLUPS)
            transaction.set_rollback(True)
        row = {
            "endpoint": spec["name"], "page": spec["page"], "url": url,
            "http_p50_ms": statistics.median(http_ms), "http_p95_ms": percentile(http_ms, 95), "http_max_ms": max(http_ms),
            "http_hourly_only_p95_ms": percentile(hourly_ms, 95),
            "rollup_selector_p95_ms": percentile(selector_ms, 95),
            "compaction_same_numbers": _canonical(hourly_payload) == _canonical(rollup_payload),
        }
        if not args.skip_raw:
            raw_ms, raw_payload = timed(lambda: call(raw), args.raw_repeats, warmup=0, budget_ms=args.raw_budget_s * 1000)
            row.update(raw_runs=len(raw_ms), raw_p50_ms=statistics.median(raw_ms), raw_p95_ms=percentile(raw_ms, 95),
                       ratio_p95=percentile(raw_ms, 95) / max(percentile(selector_ms, 95), 1e-9),
                       same_numbers=_canonical(raw_payload) == _canonical(rollup_payload))
        results.append(row)
        print(_row_text(row), flush=True)
    return results


HEADER = (f"{'endpoint':<29} {'HTTP p50':>9} {'HTTP p95':>9} {'hourly-only':>12} {'selector':>9} {'raw events':>11} {'raw/rollup':>10}  same numbers\n"
          f"{'':<29} {'ms':>9} {'ms':>9} {'p95 ms':>12} {'p95 ms':>9} {'p95 ms':>11} {'p95':>10}  (raw | hourly-only)")


def _row_text(row: Mapping[str, Any]) -> str:
    text = (f"{row['endpoint']:<29} {row['http_p50_ms']:9.1f} {row['http_p95_ms']:9.1f} {row['http_hourly_only_p95_ms']:12.1f} "
            f"{row['rollup_selector_p95_ms']:9.1f}")
    if "raw_p95_ms" in row:
        text += f" {row['raw_p95_ms']:11.1f} {row['ratio_p95']:9.0f}x  {'yes' if row['same_numbers'] else 'NO'}"
    else:
        text += f" {'-':>11} {'-':>10}  -"
    return text + f" | {'yes' if row['compaction_same_numbers'] else 'NO'}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    base = os.environ.get("DATABASE_URL", "")
    if not base:
        raise SystemExit("DATABASE_URL is not set: `scripts/services.sh start postgres; eval \"$(scripts/services.sh env)\"`.")
    url = bench_database_url(base, args.database)
    database_ensure(url)
    django_setup(url)
    from django.db import connection

    load: dict[str, Any] = {"reused": True}
    if args.reload or not dataset_present(dataset_key(args)):
        load = {"reused": False, **dataset_load(args)}
        print(f"loaded in {load['copy_s']:.0f} s (COPY) + {load['rollups_s']:.0f} s (rollups)")
    else:
        print(f"reusing the loaded dataset ({dataset_key(args)}); --reload to rebuild")
    print(f"PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} CPU cores; {args.repeats} timed requests per endpoint "
          f"(rollups), {args.raw_repeats} (raw events)\n")
    from dashboard.compaction import rollups_compact_all

    from django.db import connection as conn

    with conn.cursor() as cursor:  # compact from scratch, so that its cost is measured too
        cursor.execute(f"TRUNCATE {COMPACTED_TABLES}")
    t = time.perf_counter()
    compacted = rollups_compact_all()
    compaction_s = time.perf_counter() - t
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {COMPACTED_TABLES}")
    print(f"daily compaction: {sum(r.days_rebuilt for r in compacted)} day(s) rebuilt in {compaction_s:.1f} s")
    sizes = table_sizes()
    for name, info in sizes.items():
        print(f"  {name:<28} {info['rows']:>12,} rows  {info['bytes'] / 2**20:9.1f} MiB")
    print()
    print(HEADER, flush=True)
    results = measure(args)
    worst = max(r["http_p95_ms"] for r in results)
    print(f"\nslowest endpoint p95: {worst:.1f} ms (aim: < 150 ms) -> {'OK' if worst < 150 else 'OVER'}")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "dataset": dataset_key(args), "load": load, "compaction_s": compaction_s, "tables": sizes,
                               "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()}, "results": results}, indent=2, default=str))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
