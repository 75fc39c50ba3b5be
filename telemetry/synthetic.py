"""Realistic synthetic telemetry bursts (pure, no Django), for the demo and benchmarks.

Each simulated session runs a few agent tasks: LLM calls, tool calls (some failing in the
way the shell makes likely), suggestions accepted or rejected, and retention checks at
every checkpoint. ``quality`` in [0, 1] shifts every rate so versions differ visibly.
"""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

CLIENTS = (
    ("windows", "powershell", "vscode"),
    ("windows", "cmd", "jetbrains"),
    ("linux", "bash", "vscode"),
    ("macos", "zsh", "vscode"),
    ("macos", "zsh", "cursor"),
    ("linux", "zsh", "neovim"),
)
LANGUAGES = ("python", "typescript", "go", "java", "rust")
TOOLS = ("shell", "read_file", "edit_file", "search")
ERROR_KINDS_BY_TOOL = {
    "shell": ("invalid_for_shell", "nonzero_exit", "timeout"),
    "read_file": ("invalid_arguments", "permission"),
    "edit_file": ("invalid_arguments",),
    "search": ("timeout",),
}
RETENTION_DECAY = {30: 1.0, 120: 0.97, 300: 0.93, 600: 0.9, 3600: 0.85}


def _event(kind: str, *, session: dict, ts: datetime, payload: dict, task_id: str | None) -> dict[str, Any]:
    event = {
        "event_id": str(uuid.UUID(int=session["rng"].getrandbits(128), version=4)),
        "type": kind,
        "ts": ts.isoformat(),
        "session_id": session["id"],
        "user": session["user"],
        "client": {"ide": session["ide"], "ide_version": "1.0", "os": session["os"], "shell": session["shell"]},
        "model": {"name": "flywheel-coder", "version": session["version"]},
        "repo": {"id": session["repo"], "language": session["language"]},
        "payload": payload,
    }
    if task_id:
        event["task_id"] = task_id
    return event


def session_events(*, rng: random.Random, version: str, quality: float, start: datetime, tasks: int = 3) -> list[dict[str, Any]]:
    """All events of one simulated IDE session with ``tasks`` agent tasks."""
    os_name, shell, ide = rng.choice(CLIENTS)
    session = {
        "rng": rng,
        "id": f"sess-{rng.getrandbits(64):016x}",
        "user": f"user-{rng.randrange(500)}",
        "ide": ide,
        "os": os_name,
        "shell": shell,
        "version": version,
        "repo": f"repo-{rng.randrange(50)}",
        "language": rng.choice(LANGUAGES),
    }
    windows_penalty = 0.15 if os_name == "windows" else 0.0
    events: list[dict[str, Any]] = []
    ts = start
    for _ in range(tasks):
        task_id = f"task-{rng.getrandbits(64):016x}"
        turns = rng.randint(1, 4)
        for _turn in range(turns):
            ts += timedelta(seconds=rng.randint(2, 20))
            events.append(_event("llm.usage", session=session, ts=ts, task_id=task_id, payload={
                "input_tokens": rng.randint(800, 4000),
                "output_tokens": int(rng.randint(100, 700) * (1.3 - 0.5 * quality)),
                "cache_read_tokens": rng.randint(0, 2000),
                "latency_ms": rng.randint(300, 3000),
            }))
            tool = rng.choice(TOOLS)
            failed = rng.random() < (0.25 - 0.2 * quality + windows_penalty * (tool == "shell"))
            payload: dict[str, Any] = {"tool": tool, "status": "error" if failed else "success", "duration_ms": rng.randint(5, 4000)}
            if failed:
                payload["error_kind"] = rng.choice(ERROR_KINDS_BY_TOOL[tool])
                payload["exit_code"] = 1
            events.append(_event("tool.call", session=session, ts=ts, task_id=task_id, payload=payload))
        suggestion_id = f"sug-{rng.getrandbits(48):012x}"
        lines = rng.randint(1, 30)
        chars = lines * rng.randint(20, 60)
        accepted = rng.random() < 0.55 + 0.3 * quality
        events.append(_event("suggestion.shown", session=session, ts=ts, task_id=task_id, payload={"suggestion_id": suggestion_id, "lines": lines, "chars": chars}))
        events.append(_event("suggestion.accepted" if accepted else "suggestion.rejected", session=session, ts=ts, task_id=task_id, payload={"suggestion_id": suggestion_id, "lines": lines, "chars": chars}))
        if accepted:
            keep = min(1.0, 0.55 + 0.4 * quality + rng.uniform(-0.1, 0.1))
            for elapsed, decay in RETENTION_DECAY.items():
                retained = int(chars * min(1.0, keep * decay))
                events.append(_event("code.retention", session=session, ts=ts + timedelta(seconds=elapsed), task_id=task_id, payload={
                    "suggestion_id": suggestion_id, "elapsed_s": elapsed, "retained_chars": retained, "total_chars": chars,
                }))
        outcome = "success" if rng.random() < 0.5 + 0.4 * quality else rng.choice(["failure", "abandoned"])
        events.append(_event("task.finished", session=session, ts=ts, task_id=task_id, payload={"outcome": outcome, "turns": turns}))
        if rng.random() < 0.1:
            events.append(_event("feedback", session=session, ts=ts, task_id=task_id, payload={"rating": "up" if rng.random() < quality else "down"}))
    return events


def burst(*, seed: int, sessions: int, versions: dict[str, float], start: datetime | None = None) -> list[dict[str, Any]]:
    """Events of ``sessions`` sessions spread over ``versions`` ({version: quality})."""
    rng = random.Random(seed)
    start = start or datetime.now(timezone.utc) - timedelta(hours=6)
    names = list(versions)
    events: list[dict[str, Any]] = []
    for index in range(sessions):
        version = names[index % len(names)]
        session_start = start + timedelta(seconds=rng.randint(0, 5 * 3600))
        events.extend(session_events(rng=rng, version=version, quality=versions[version], start=session_start))
    return events
