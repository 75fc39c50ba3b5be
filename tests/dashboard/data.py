"""Simulated runs for dashboard tests, stored through the real ingestion path.

``simulate_over_http`` drives the project's simulator (``training.simulator``: simulated IDE
users asking a reference policy for help) against a live app, over POST /api/v1/events;
the browser tests use it. ``simulate_org`` (a smaller generator with known shapes, used by
the API and statistics tests) sends realistic sessions (several model versions that appear one after
another, Windows with cmd/PowerShell, macOS, Linux, tool errors whose kinds depend on the
shell, suggestions, retention checks at every checkpoint, finished tasks, feedback) to
``telemetry.services.events_ingest``, plus a few invalid events (rejections) and one
dead letter, so every page has something to show. Newer versions are better by
construction (fewer tool errors, more acceptance and retention, fewer tokens).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from telemetry.bus import get_bus
from telemetry.models import Organization
from telemetry.services import events_ingest, organization_get_or_create
from telemetry.store import messages_store
from tests.factories import make_event

CLIENTS = (
    ("windows", "powershell", "vscode"),
    ("windows", "cmd", "jetbrains"),
    ("linux", "bash", "vscode"),
    ("linux", "zsh", "neovim"),
    ("macos", "zsh", "vscode"),
    ("macos", "zsh", "cursor"),
)
LANGUAGES = ("python", "typescript", "go", "java")
TOOLS = ("shell", "read_file", "edit_file", "search")
ERROR_KINDS = {
    "shell": ("invalid_for_shell", "nonzero_exit", "timeout"),
    "read_file": ("invalid_arguments", "permission"),
    "edit_file": ("invalid_arguments",),
    "search": ("timeout",),
}
CHECKPOINTS = {30: 1.0, 120: 0.97, 300: 0.93, 600: 0.9, 3600: 0.85}


@dataclass(frozen=True)
class SimulatedVersion:
    name: str
    quality: float
    """0..1: higher is better on every metric."""
    starts_at_hour: int
    """Hours after the run's start when the version first serves traffic."""


ACME_VERSIONS = (
    SimulatedVersion("acme-coder-2025.09", 0.35, 0),
    SimulatedVersion("acme-coder-2025.10", 0.55, 8),
    SimulatedVersion("acme-coder-2025.11", 0.85, 16),
)
GLOBEX_VERSIONS = (
    SimulatedVersion("globex-secret-7b", 0.4, 0),
    SimulatedVersion("globex-secret-13b", 0.6, 6),
)


def _session(rng: random.Random, version: SimulatedVersion, start: datetime, index: int) -> list[dict]:
    os_name, shell, ide = rng.choice(CLIENTS)
    session_id = f"sess-{version.name}-{index}"
    envelope = {
        "client": {"ide": ide, "ide_version": "1.0", "os": os_name, "shell": shell},
        "repo": {"id": f"repo-{rng.randrange(20)}", "language": rng.choice(LANGUAGES)},
        "user": f"user-{rng.randrange(200)}@example.com",
    }
    q = version.quality
    windows_shell_penalty = 0.2 if os_name == "windows" else 0.0
    events: list[dict] = []
    ts = start

    def add(kind: str, payload: dict, task_id: str, at: datetime | None = None) -> None:
        events.append(make_event(kind, payload=payload, version=version.name, session_id=session_id, task_id=task_id,
                                 os=os_name, shell=shell, ts=at or ts, **envelope))

    for t in range(rng.randint(1, 3)):
        task_id = f"{session_id}-task-{t}"
        for _turn in range(rng.randint(1, 4)):
            ts += timedelta(seconds=rng.randint(5, 60))
            add("llm.usage", {
                "input_tokens": rng.randint(800, 3000),
                "output_tokens": int(rng.randint(150, 600) * (1.4 - 0.6 * q)),
                "cache_read_tokens": rng.randint(0, 1500),
            }, task_id)
            tool = rng.choice(TOOLS)
            error_p = 0.3 - 0.25 * q + (windows_shell_penalty * (1.2 - q) if tool == "shell" else 0.0)
            if rng.random() < error_p:
                kind = "invalid_for_shell" if tool == "shell" and os_name == "windows" and rng.random() < 0.7 else rng.choice(ERROR_KINDS[tool])
                add("tool.call", {"tool": tool, "status": "error", "error_kind": kind, "exit_code": 1, "duration_ms": rng.randint(5, 3000)}, task_id)
            else:
                add("tool.call", {"tool": tool, "status": "success", "exit_code": 0, "duration_ms": rng.randint(5, 3000)}, task_id)
        suggestion_id = f"{task_id}-s"
        lines = rng.randint(1, 25)
        chars = lines * rng.randint(20, 50)
        add("suggestion.shown", {"suggestion_id": suggestion_id, "lines": lines, "chars": chars}, task_id)
        if rng.random() < 0.45 + 0.4 * q:
            add("suggestion.accepted", {"suggestion_id": suggestion_id, "lines": lines, "chars": chars}, task_id)
            keep = min(1.0, 0.5 + 0.45 * q + rng.uniform(-0.15, 0.15))
            for elapsed, decay in CHECKPOINTS.items():
                retained = max(0, min(chars, int(chars * keep * decay)))
                add("code.retention", {"suggestion_id": suggestion_id, "elapsed_s": elapsed, "retained_chars": retained, "total_chars": chars},
                    task_id, at=ts + timedelta(seconds=elapsed))
        else:
            add("suggestion.rejected", {"suggestion_id": suggestion_id, "lines": lines, "chars": chars}, task_id)
        outcome = "success" if rng.random() < 0.45 + 0.45 * q else rng.choice(["failure", "abandoned"])
        add("task.finished", {"outcome": outcome, "turns": 2}, task_id)
        if rng.random() < 0.15:
            add("feedback", {"rating": "up" if rng.random() < 0.3 + 0.6 * q else "down"}, task_id)
    return events


def simulated_events(*, versions: tuple[SimulatedVersion, ...], sessions: int, hours: int, start: datetime, seed: int) -> list[dict]:
    """Events of ``sessions`` sessions over ``hours``; each session uses a version already out."""
    rng = random.Random(seed)
    events: list[dict] = []
    for index in range(sessions):
        hour = rng.randrange(hours)
        live = [v for v in versions if v.starts_at_hour <= hour] or [versions[0]]
        # Traffic shifts to the newest live version.
        weights = [2 ** i for i in range(len(live))]
        version = rng.choices(live, weights=weights)[0]
        session_start = start + timedelta(hours=hour, seconds=rng.randrange(3000))
        events.extend(_session(rng, version, session_start, index))
    return events


def simulate_org(
    *,
    slug: str,
    versions: tuple[SimulatedVersion, ...],
    sessions: int = 240,
    hours: int = 24,
    seed: int = 7,
    now: datetime | None = None,
    rejected: int = 3,
    dead_letters: int = 1,
) -> Organization:
    """Create ``slug`` and fill it through ``events_ingest`` (the embedded bus stores synchronously)."""
    org = organization_get_or_create(slug=slug, name=slug.replace("-", " ").title())
    now = now or datetime.now(timezone.utc)
    start = (now - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    events = simulated_events(versions=versions, sessions=sessions, hours=hours, start=start, seed=seed)
    for i in range(0, len(events), 1000):
        result = events_ingest(org=org, events=events[i:i + 1000])
        assert not result.rejected, result.rejected[:3]
    if rejected:
        bad = []
        for i in range(rejected):
            event = make_event("tool.call", version=versions[0].name)
            if i % 2:
                del event["model"]
            else:
                event["payload"] = {"tool": "shell"}
            bad.append(event)
        events_ingest(org=org, events=bad)
    if dead_letters:
        result = messages_store(messages=[(f"poison-{slug}-{i}", b"\x00not a bus message") for i in range(dead_letters)])
        get_bus().dead_letter(result.dead_letters)
    return org


# --- the project's simulator (training.simulator), over HTTP --------------------------------------

ACME_SIMULATED = (("acme-coder-2025.09", "v1"), ("acme-coder-2025.10", "v0"), ("acme-coder-2025.11", "v2"))
"""(version name, reference flavour mix): v1 answers Linux-biased and verbose, v2 mostly good."""
GLOBEX_SIMULATED = (("globex-secret-7b", "v1"), ("globex-secret-13b", "v2"))


def simulate_over_http(
    *,
    base_url: str,
    api_key: str,
    versions: tuple[tuple[str, str], ...],
    sessions_per_phase: int = 90,
    hours: int = 24,
    seed: int = 1,
    now: datetime | None = None,
) -> int:
    """Run ``training.simulator`` against a live app: simulated IDE users, real POST /api/v1/events.

    Versions roll out one after another: phase i starts at i * hours / n and serves the
    i-th version alongside the previous one (users split by a hash of their id), so each
    version first appears at a different hour. Returns the events sent.
    """
    from training.simulator import HashSplit, ReferenceResponder, SimulationConfig, TelemetrySender, simulate
    from training.simulator.responders import REFERENCE_MIXES

    now = now or datetime.now(timezone.utc)
    start = (now - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    responder = ReferenceResponder(mixes={name: REFERENCE_MIXES[mix] for name, mix in versions})
    names = [name for name, _ in versions]
    step = hours / len(names)
    sent = 0
    with TelemetrySender(base_url, api_key, batch_size=500) as sender:
        for i, name in enumerate(names):
            live = names[max(0, i - 1): i + 1]
            config = SimulationConfig(sessions=sessions_per_phase, seed=seed + i, start=start + timedelta(hours=i * step), span_hours=hours - i * step - 1)
            result = simulate(config, responder=responder, assigner=HashSplit(live), sink=lambda record, json_events, otlp: sender.add(json_events),
                              keep_events=False, progress=False)
            sent += result.events_sent
    return sent


def ingestion_troubles(*, base_url: str, api_key: str, org_slug: str, dead_letters: int = 1) -> None:
    """A few invalid events through the real endpoint (rejections) and undecodable bus messages (dead letters)."""
    import requests

    bad = [make_event("tool.call", payload={"tool": "shell"}), make_event("tool.call", payload={"tool": "shell"}), make_event("tool.call")]
    del bad[2]["model"]
    response = requests.post(f"{base_url}/api/v1/events", json={"events": bad}, headers={"Authorization": f"Bearer {api_key}"}, timeout=60)
    assert response.status_code == 202 and len(response.json()["rejected"]) == 3, response.text
    if dead_letters:
        result = messages_store(messages=[(f"poison-{org_slug}-{i}", b"\x00not a bus message") for i in range(dead_letters)])
        get_bus().dead_letter(result.dead_letters)
