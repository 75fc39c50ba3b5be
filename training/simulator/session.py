"""One simulated IDE session: planned from the seed, answered by the policy, played as events.

``session_plan`` draws who the user is, when the session starts, which version serves it and
which tasks they ask (matching their OS/shell where the task kind has one). The responder
answers every planned task; ``verify`` judges each answer; ``session_play`` turns the
verdicts into schema-v1 events with realistic timing:

    task start ─► llm.usage (after the model's latency) ─► tool.call per verdict tool call
    ─► suggestion.shown ─► accepted/rejected (after a review delay) ─► task.finished
    ─► feedback (sometimes) ... code.retention at acceptance + 30 s, 2 min, 5 min, 10 min, 1 h

Three independent seeded streams keep it deterministic: ``{seed}:plan:{i}`` (user, start,
tasks, sampling seeds), ``{seed}:play:{i}`` (timing and reactions) and
``{seed}:{start}:ids:{i}`` (session and event ids: the same seed started at another
``start`` produces new ids, so it adds data instead of being deduplicated).
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from training.environment import Task, Verdict, task_catalog
from training.environment.catalog import spec_for
from training.simulator.assignment import VersionAssigner
from training.simulator.population import UserProfile
from training.simulator.reactions import (
    CodeFate,
    code_fate,
    feedback_rating,
    is_accepted,
    retained_count,
    retention_checks,
)
from training.simulator.responders import PolicyResponse, ResponseRequest

KIND_MIX: tuple[tuple[str, float], ...] = (("terminal", 0.5), ("code_edit", 0.25), ("multi_step", 0.25))
"""Task kinds asked by users in Python repos; users in other repos ask terminal tasks only."""
TASKS_PER_SESSION: tuple[tuple[int, float], ...] = ((1, 0.15), (2, 0.25), (3, 0.30), (4, 0.20), (5, 0.10))
THINK_TIME_S = (30.0, 600.0)
"""Pause between the end of one task and the next request."""
REVIEW_TIME_S = (2.0, 45.0)
"""Time a user takes to accept or reject a suggestion."""
TOOL_DURATION_MS: dict[str, tuple[float, float]] = {
    "shell": (40.0, 2500.0),
    "edit_file": (5.0, 60.0),
    "read_file": (2.0, 30.0),
    "search": (20.0, 400.0),
}
TIMEOUT_DURATION_MS = 120_000.0
MAX_ARGUMENT_CHARS = 2000
MAX_COMPLETION_CHARS = 200_000
SCHEMA_TOOL_ERRORS = frozenset({"invalid_arguments", "unknown_tool", "nonzero_exit", "timeout", "permission", "invalid_for_shell"})


@dataclass(frozen=True)
class TaskPool:
    """The catalog of one split, indexed the way sessions draw from it."""

    split: str
    terminal: dict[tuple[str, str], tuple[Task, ...]]
    multi_step: dict[tuple[str, str], tuple[Task, ...]]
    code_edit: tuple[Task, ...]

    @classmethod
    def from_catalog(cls, *, split: str) -> "TaskPool":
        tasks = task_catalog(split=split)
        terminal: dict[tuple[str, str], list[Task]] = {}
        multi: dict[tuple[str, str], list[Task]] = {}
        for task in tasks:
            if task.kind == "terminal":
                terminal.setdefault((task.os, task.shell), []).append(task)
            elif task.kind == "multi_step":
                multi.setdefault((task.os, task.shell), []).append(task)
        return cls(
            split=split,
            terminal={k: tuple(v) for k, v in terminal.items()},
            multi_step={k: tuple(v) for k, v in multi.items()},
            code_edit=tuple(t for t in tasks if t.kind == "code_edit"),
        )

    def draw(self, profile: UserProfile, rng: random.Random) -> Task:
        """A task this user would ask: in their OS/shell for kinds that have one."""
        kind = "terminal"
        if profile.writes_python:
            kinds, weights = zip(*KIND_MIX)
            kind = rng.choices(kinds, weights=weights, k=1)[0]
        platform = (profile.os, profile.shell)
        if kind == "code_edit" and self.code_edit:
            return rng.choice(self.code_edit)
        if kind == "multi_step":
            candidates = self.multi_step.get(platform) or tuple(t for ts in self.multi_step.values() for t in ts)
            if candidates:
                return rng.choice(candidates)
        candidates = self.terminal.get(platform) or tuple(t for ts in self.terminal.values() for t in ts)
        return rng.choice(candidates)


@dataclass(frozen=True)
class PlannedTask:
    task: Task
    telemetry_id: str
    """``task_id`` of the telemetry: unique per asked task (the catalog id names the task kind)."""
    request: ResponseRequest


@dataclass(frozen=True)
class SessionPlan:
    index: int
    session_id: str
    profile: UserProfile
    version: str
    start: datetime
    tasks: tuple[PlannedTask, ...]


def session_plan(
    *,
    seed: int,
    index: int,
    run_start: datetime,
    span_s: float,
    users: Sequence[UserProfile],
    assigner: VersionAssigner,
    pool: TaskPool,
) -> SessionPlan:
    rng = random.Random(f"{seed}:plan:{index}")
    ids = random.Random(f"{seed}:{run_start.isoformat()}:ids:{index}")
    profile = users[rng.randrange(len(users))]
    start = run_start + timedelta(seconds=rng.uniform(0.0, span_s))
    session_id = f"sim-{ids.getrandbits(64):016x}"
    assign_session = getattr(assigner, "assign_session", None)  # assigners that key on the session too
    if assign_session is not None:
        version = assign_session(session_id=session_id, user=profile.user, at=start)
    else:
        version = assigner.assign(user=profile.user, at=start)
    counts, weights = zip(*TASKS_PER_SESSION)
    n_tasks = rng.choices(counts, weights=weights, k=1)[0]
    tasks = []
    for k in range(n_tasks):
        task = pool.draw(profile, rng)
        tasks.append(PlannedTask(task, f"{session_id}-t{k}", ResponseRequest(task, rng.getrandbits(63))))
    return SessionPlan(index, session_id, profile, version, start, tuple(tasks))


@dataclass(frozen=True)
class TaskResult:
    planned: PlannedTask
    response: PolicyResponse
    verdict: Verdict
    fate: CodeFate | None


@dataclass(frozen=True)
class SessionRecord:
    plan: SessionPlan
    events: list[dict[str, Any]]
    results: tuple[TaskResult, ...]


class _Emitter:
    """Builds schema-v1 events sharing the session's envelope; ids from the ids stream."""

    def __init__(self, plan: SessionPlan, *, model_name: str, ids: random.Random) -> None:
        profile = plan.profile
        self.plan, self.ids = plan, ids
        self.envelope = {
            "session_id": plan.session_id,
            "user": profile.user,
            "client": {"ide": profile.ide, "ide_version": profile.ide_version, "os": profile.os, "shell": profile.shell},
            "model": {"name": model_name, "version": plan.version},
            "repo": {"id": profile.repo_id, "language": profile.language},
        }
        self.timed: list[tuple[datetime, int, dict[str, Any]]] = []

    def emit(self, kind: str, at: datetime, payload: dict[str, Any], *, task_id: str) -> None:
        envelope = self.envelope
        event = {
            "event_id": str(uuid.UUID(int=self.ids.getrandbits(128), version=4)),
            "type": kind,
            "ts": at.isoformat(),
            "session_id": envelope["session_id"],
            "task_id": task_id,
            "user": envelope["user"],
            "client": dict(envelope["client"]),
            "model": dict(envelope["model"]),
            "repo": dict(envelope["repo"]),
            "payload": payload,
        }
        self.timed.append((at, len(self.timed), event))

    def events(self) -> list[dict[str, Any]]:
        return [event for _, _, event in sorted(self.timed, key=lambda item: (item[0], item[1]))]


def _ms(seconds: float) -> timedelta:
    return timedelta(microseconds=round(seconds * 1e6))


def _tool_payload(outcome, call_id: str, duration_ms: float) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "tool": (outcome.tool or "unknown")[:64],
        "call_id": call_id,
        "status": "success" if outcome.ok else "error",
        "duration_ms": round(duration_ms, 1),
        "arguments": outcome.arguments[:MAX_ARGUMENT_CHARS],
    }
    if not outcome.ok:
        payload["error_kind"] = outcome.error_kind if outcome.error_kind in SCHEMA_TOOL_ERRORS else "other"
    if outcome.exit_code is not None:
        payload["exit_code"] = outcome.exit_code
    return payload


def _completion_payload(planned: PlannedTask, response: PolicyResponse, verdict: Verdict, request_id: str) -> dict[str, Any]:
    """The ``llm.completion`` of one answer: the chat prompt the policy saw and its text."""
    from training.policy.corpus import task_messages  # the policy's prompt format (lazy: pulls in torch)

    return {
        "request_id": request_id,
        "prompt": task_messages(planned.task),
        "response": response.text[:MAX_COMPLETION_CHARS],
        "finish_reason": "stop",
        "suggestion_ids": [f"{planned.telemetry_id}-s"] if verdict.code is not None else [],
    }


def file_header(task: Task) -> str:
    """What the target module holds besides the inserted code (its import of the helper)."""
    return f"from utils import {spec_for(task.task_id).helper_name}\n\n"


def session_play(
    plan: SessionPlan,
    answers: Sequence[tuple[PolicyResponse, Verdict]],
    *,
    seed: int,
    run_start: datetime,
    model_name: str,
    idiomatic_code: Callable[[Task], str],
) -> SessionRecord:
    """The session's events, sorted by time (see the module docstring for the timeline)."""
    rng = random.Random(f"{seed}:play:{plan.index}")
    emitter = _Emitter(plan, model_name=model_name, ids=random.Random(f"{seed}:{run_start.isoformat()}:events:{plan.index}"))
    results = []
    cursor = plan.start
    for planned, (response, verdict) in zip(plan.tasks, answers):
        task_id = planned.telemetry_id
        latency_ms = 250.0 + 9.0 * response.completion_tokens + rng.uniform(0.0, 400.0)
        cursor += _ms(latency_ms / 1000)
        request_id = f"req-{rng.getrandbits(48):012x}"
        emitter.emit("llm.usage", cursor, {
            "input_tokens": response.prompt_tokens,
            "output_tokens": response.completion_tokens,
            "latency_ms": round(latency_ms, 1),
            "request_id": request_id,
        }, task_id=task_id)
        emitter.emit("llm.completion", cursor, _completion_payload(planned, response, verdict, request_id), task_id=task_id)
        for k, outcome in enumerate(verdict.tool_calls):
            low, high = TOOL_DURATION_MS.get(outcome.tool, (5.0, 100.0))
            duration = TIMEOUT_DURATION_MS if outcome.error_kind == "timeout" else rng.uniform(low, high)
            cursor += _ms(rng.uniform(0.2, 1.5))
            emitter.emit("tool.call", cursor, {**_tool_payload(outcome, f"{task_id}-c{k}", duration), "request_id": request_id}, task_id=task_id)
            cursor += _ms(duration / 1000)
        fate = None
        if verdict.code is not None:
            code = verdict.code
            suggestion = {"suggestion_id": f"{task_id}-s", "lines": len(code.splitlines()), "chars": len(code), "request_id": request_id}
            cursor += _ms(0.1)
            emitter.emit("suggestion.shown", cursor, {**suggestion, "code": code}, task_id=task_id)
            cursor += _ms(rng.uniform(*REVIEW_TIME_S))
            if is_accepted(verdict):
                emitter.emit("suggestion.accepted", cursor, {**suggestion, "code": code}, task_id=task_id)
                fate = code_fate(verdict, idiomatic_code=idiomatic_code(planned.task), rng=rng)
                _retention_events(emitter, plan, planned, fate, accepted_at=cursor, rng=rng)
            else:
                emitter.emit("suggestion.rejected", cursor, suggestion, task_id=task_id)
        cursor += _ms(rng.uniform(0.2, 2.0))
        emitter.emit("task.finished", cursor, {"outcome": "success" if verdict.success else "failure", "turns": 1}, task_id=task_id)
        rating = feedback_rating(verdict, rng)
        if rating is not None:
            emitter.emit("feedback", cursor + _ms(rng.uniform(3.0, 30.0)), {"rating": rating}, task_id=task_id)
        results.append(TaskResult(planned, response, verdict, fate))
        cursor += _ms(rng.uniform(*THINK_TIME_S))
    return SessionRecord(plan, emitter.events(), tuple(results))


def _retention_events(emitter: _Emitter, plan: SessionPlan, planned: PlannedTask, fate: CodeFate, *, accepted_at: datetime, rng: random.Random) -> None:
    """One ``code.retention`` per checkpoint: counts or file content, as the user's plugin reports."""
    header = file_header(planned.task)
    suggestion_id = f"{planned.telemetry_id}-s"
    for _, elapsed in retention_checks(rng):
        current = fate.code_at(elapsed)
        payload: dict[str, Any] = {"suggestion_id": suggestion_id, "elapsed_s": round(elapsed, 3)}
        if plan.profile.retention_report == "content":
            payload.update(original_content=fate.original, current_content=header + current)
        else:
            payload.update(retained_chars=retained_count(fate.original, current), total_chars=len(fate.original))
        emitter.emit("code.retention", accepted_at + _ms(elapsed), payload, task_id=planned.telemetry_id)
