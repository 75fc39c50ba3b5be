"""``simulate``: play a population of IDE users against a policy and account for every event.

Reads top to bottom: population -> for each chunk of sessions: plan -> ask the responder
(one batch per version) -> verify every answer (memoized) -> play the events -> hand them to
the sink (e.g. ``TelemetrySender``) -> add them to the ground truth.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from tqdm.auto import tqdm

from training.environment import Task, Verdict, reference_response, verify
from training.simulator.assignment import SingleVersion, VersionAssigner
from training.simulator.claude_code import claude_code_stored, split_for_claude_code
from training.simulator.population import CLAUDE_CODE, population
from training.simulator.responders import PolicyResponder
from training.simulator.session import SessionPlan, SessionRecord, TaskPool, session_plan, session_play
from training.simulator.truth import GroundTruth

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
CHUNK_SESSIONS = 32
"""Sessions planned and answered together (responder batches); fixed, so results are too."""
VERDICT_CACHE_SIZE = 16_384

Sink = Callable[[SessionRecord, list[dict[str, Any]], list[dict[str, Any]]], None]
"""Called per session with (record, events to POST as JSON, events to export over OTLP)."""


@dataclass(frozen=True)
class SimulationConfig:
    """One simulation run. The same config (and responder) gives the same events and truth."""

    sessions: int = 200
    """IDE sessions to play (1-5 tasks each, about 20 events per session)."""
    seed: int = 0
    """Seeds the population, the sessions, the sampling seeds sent to the policy, and all ids."""
    split: str = "eval"
    """Environment split the users' tasks come from ("eval": tasks no policy trained on)."""
    start: datetime = DEFAULT_START
    """Earliest session start (UTC). Ids depend on it: another start is new data, not a replay."""
    span_hours: float = 8.0
    """Session starts are spread uniformly over [start, start + span_hours)."""
    sessions_per_user: float = 3.0
    """Average sessions per user; the population has ceil(sessions / sessions_per_user) users."""
    otlp: bool = False
    """Send Claude Code users' telemetry as Claude Code does (OTLP logs) instead of JSON."""

    def __post_init__(self) -> None:
        if self.sessions < 1:
            raise ValueError("sessions must be >= 1")
        if self.split not in ("train", "eval"):
            raise ValueError("split must be 'train' or 'eval'")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.span_hours < 0 or self.sessions_per_user <= 0:
            raise ValueError("span_hours must be >= 0 and sessions_per_user > 0")

    @property
    def users(self) -> int:
        return max(1, math.ceil(self.sessions / self.sessions_per_user))


@dataclass
class SimulationResult:
    config: SimulationConfig
    responder: str
    versions: tuple[str, ...]
    truth: dict[str, dict[str, Any]]
    """Ground truth per version (``training.simulator.truth``)."""
    events_sent: int
    events_json: int
    events_otlp: int
    elapsed_s: float
    events: list[dict[str, Any]] = field(default_factory=list)
    """Every event as generated (schema v1), when kept."""

    def to_json(self) -> dict[str, Any]:
        config = asdict(self.config)
        config["start"] = self.config.start.isoformat()
        return {
            "config": config,
            "responder": self.responder,
            "versions": list(self.versions),
            "events_sent": self.events_sent,
            "events_json": self.events_json,
            "events_otlp_records": self.events_otlp,
            "ground_truth": self.truth,
        }


@lru_cache(maxsize=VERDICT_CACHE_SIZE)
def verdict_of(task: Task, response: str) -> Verdict:
    """``verify`` is deterministic: the same answer to the same task is judged once per process."""
    return verify(task, response)


@lru_cache(maxsize=1024)
def idiomatic_code(task: Task) -> str:
    """The code a user rewrites off-style code into: the environment's good answer."""
    return verdict_of(task, reference_response(task, flavor="good")).code or ""


def simulate(
    config: SimulationConfig,
    *,
    responder: PolicyResponder,
    assigner: VersionAssigner | None = None,
    sink: Sink | None = None,
    keep_events: bool = True,
    progress: bool = False,
) -> SimulationResult:
    """Play ``config.sessions`` sessions; hand each session's events to ``sink``; return the truth.

    Raises ``ValueError`` if the assigner can hand out a version the responder does not serve.
    """
    started = time.perf_counter()
    assigner = assigner or SingleVersion(responder.served_versions()[0])
    unserved = [v for v in assigner.versions if not responder.serves(v)]
    if unserved:
        raise ValueError(f"versions {unserved} are not served by {responder.description}; served: {list(responder.served_versions())}")
    pool = TaskPool.from_catalog(split=config.split)
    users = population(seed=config.seed, users=config.users)
    truth = GroundTruth()
    kept: list[dict[str, Any]] = []
    counts = {"json": 0, "otlp": 0}
    bar = tqdm(total=config.sessions, desc="sessions", unit="session", disable=not progress)
    for chunk_start in range(0, config.sessions, CHUNK_SESSIONS):
        plans = [
            session_plan(
                seed=config.seed, index=i, run_start=config.start, span_s=config.span_hours * 3600,
                users=users, assigner=assigner, pool=pool,
            )
            for i in range(chunk_start, min(config.sessions, chunk_start + CHUNK_SESSIONS))
        ]
        answers = _answers(plans, responder)
        for plan in plans:
            record = session_play(
                plan, answers[plan.index], seed=config.seed, run_start=config.start,
                model_name=responder.model_name, idiomatic_code=idiomatic_code,
            )
            otlp_events, json_events = ([], record.events)
            if config.otlp and plan.profile.ide == CLAUDE_CODE:
                otlp_events, json_events = split_for_claude_code(record.events)
            for event in json_events:
                truth.add_event(event)
            for event in otlp_events:
                truth.add_event(claude_code_stored(event))
            truth.add_session(
                version=plan.version,
                tasks=len(record.results),
                tests_passed=sum(r.verdict.tests_passed for r in record.results if r.planned.task.kind != "terminal"),
                tests_total=sum(r.verdict.tests_total for r in record.results if r.planned.task.kind != "terminal"),
            )
            counts["json"] += len(json_events)
            counts["otlp"] += len(otlp_events)
            if sink is not None:
                sink(record, json_events, otlp_events)
            if keep_events:
                kept.extend(record.events)
            bar.update(1)
    bar.close()
    return SimulationResult(
        config=config,
        responder=responder.description,
        versions=tuple(assigner.versions),
        truth=truth.metrics(),
        events_sent=counts["json"] + counts["otlp"],
        events_json=counts["json"],
        events_otlp=counts["otlp"],
        elapsed_s=time.perf_counter() - started,
        events=kept,
    )


def _answers(plans: list[SessionPlan], responder: PolicyResponder) -> dict[int, list[tuple[Any, Verdict]]]:
    """Ask the responder once per version for every task of ``plans``; verify each answer."""
    by_version: dict[str, list[tuple[int, int]]] = {}
    for plan in plans:
        for k in range(len(plan.tasks)):
            by_version.setdefault(plan.version, []).append((plan.index, k))
    plans_by_index = {plan.index: plan for plan in plans}
    answers: dict[int, list[Any]] = {plan.index: [None] * len(plan.tasks) for plan in plans}
    for version, slots in by_version.items():
        requests = [plans_by_index[i].tasks[k].request for i, k in slots]
        responses = responder.respond(requests, model_version=version)
        if len(responses) != len(requests):
            raise RuntimeError(f"responder answered {len(responses)} of {len(requests)} requests")
        for (i, k), response in zip(slots, responses):
            answers[i][k] = (response, verdict_of(plans_by_index[i].tasks[k].task, response.text))
    return answers


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def truth_table(truth: dict[str, dict[str, Any]]) -> str:
    """The ground truth per version as a fixed-width text table."""
    header = (f"{'version':<12}{'sessions':>9}{'events':>8}{'tool err':>9}{'accept':>8}{'tok/task':>9}"
              f"{'ret@30s':>8}{'ret@2m':>8}{'ret@5m':>8}{'ret@10m':>8}{'ret@1h':>8}{'success':>8}{'tests':>8}")
    lines = [header, "-" * len(header)]
    for version, m in truth.items():
        retention = m["code_retention"]
        tokens = "—" if m["tokens_per_task"] is None else f"{m['tokens_per_task']:.1f}"
        lines.append(
            f"{version:<12}{m['sessions']:>9}{m['events']:>8}{_pct(m['tool_call_error_rate']):>9}"
            f"{_pct(m['acceptance_rate']):>8}{tokens:>9}"
            + "".join(f"{_pct(retention[label]):>8}" for label in ("30s", "2m", "5m", "10m", "1h"))
            + f"{_pct(m['task_success_rate']):>8}{_pct(m['unit_test_pass_rate']):>8}"
        )
        shells = "  ".join(f"{shell}={_pct(rate)}" for shell, rate in m["tool_call_error_rate_by_shell"].items())
        lines.append(f"{'':<12}tool-call error rate by shell: {shells}")
    return "\n".join(lines)
