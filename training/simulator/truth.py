"""Ground truth: the metrics Flywheel must report, computed from what the simulator sent.

Computed per model version from the events as Flywheel will store them (for OTLP sessions,
the Claude Code view of the events, see ``claude_code``), with exactly the definitions of
docs/metrics.md / ``telemetry.metrics`` and the same keys as ``GET /api/v1/metrics/summary``:

- code retention at T = retained / total characters over the retention checks that count
  for checkpoint T (``retention_checkpoint``: the largest T <= elapsed); retained characters
  are the client's count, or, when the client sent file content, what
  ``telemetry.metrics.retention_from_content`` computes (the server's own function), and
  "unchanged"/"mostly unchanged" are the shares of checks so flagged;
- tool-call error rate = failed tool calls / tool calls;
- tokens per task = input + output + cache tokens of finished tasks / finished tasks, and
  tokens per accepted line = all tokens / accepted lines;
- acceptance rate = accepted / (accepted + rejected); task success rate = successful /
  finished tasks.

Simulator-only extras (Flywheel has no event for them): sessions, tasks, the unit-test pass
rate (hidden tests passed / run, over code tasks), and tool-call error rate per shell.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from telemetry.metrics import (
    RETENTION_CHECKPOINTS_S,
    retention_checkpoint,
    retention_from_content,
    retention_from_counts,
    safe_ratio,
)

RETENTION_LABELS: dict[int, str] = {30: "30s", 120: "2m", 300: "5m", 600: "10m", 3600: "1h"}
assert tuple(RETENTION_LABELS) == RETENTION_CHECKPOINTS_S
SUMMARY_KEYS: tuple[str, ...] = (
    "events",
    "code_retention",
    "code_retention_unchanged",
    "code_retention_mostly_unchanged",
    "retention_checks",
    "tool_calls",
    "tool_errors",
    "tool_call_error_rate",
    "tasks_finished",
    "task_success_rate",
    "tokens_per_task",
    "tokens_total",
    "tokens_per_accepted_line",
    "suggestions_shown",
    "suggestions_accepted",
    "suggestions_rejected",
    "acceptance_rate",
    "feedback_up",
    "feedback_down",
)
"""Every metric of the summary endpoint the ground truth must equal."""


@dataclass
class _Version:
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    task_tokens: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    finished: set[str] = field(default_factory=set)
    by_shell: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    error_kinds: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _usage_tokens(payload: dict[str, Any]) -> int:
    return payload["input_tokens"] + payload["output_tokens"] + payload.get("cache_read_tokens", 0) + payload.get("cache_write_tokens", 0)


class GroundTruth:
    """Accumulates events (as stored) and task verdicts; ``metrics()`` gives the truth."""

    def __init__(self) -> None:
        self._versions: dict[str, _Version] = defaultdict(_Version)

    def add_event(self, event: dict[str, Any]) -> None:
        v = self._versions[event["model"]["version"]]
        c, payload, kind = v.counters, event["payload"], event["type"]
        c["events"] += 1
        if kind == "suggestion.shown":
            c["suggestions_shown"] += 1
        elif kind == "suggestion.accepted":
            c["suggestions_accepted"] += 1
            c["accepted_lines"] += payload.get("lines", 0)
        elif kind == "suggestion.rejected":
            c["suggestions_rejected"] += 1
        elif kind == "tool.call":
            failed = payload["status"] == "error"
            c["tool_calls"] += 1
            c["tool_errors"] += int(failed)
            shell = (event.get("client") or {}).get("shell", "")
            v.by_shell[shell][0] += 1
            v.by_shell[shell][1] += int(failed)
            if failed:
                v.error_kinds[payload["error_kind"]] += 1
        elif kind == "llm.usage":
            tokens = _usage_tokens(payload)
            c["tokens_total"] += tokens
            if event.get("task_id"):
                v.task_tokens[event["task_id"]] += tokens
        elif kind == "task.finished":
            if event["task_id"] not in v.finished:
                v.finished.add(event["task_id"])
                c["tasks_succeeded"] += int(payload["outcome"] == "success")
        elif kind == "feedback":
            c["feedback_up" if payload["rating"] == "up" else "feedback_down"] += 1
        elif kind == "code.retention":
            self._retention(c, payload)

    @staticmethod
    def _retention(c: dict[str, int], payload: dict[str, Any]) -> None:
        checkpoint = retention_checkpoint(payload["elapsed_s"])
        if checkpoint is None:
            return
        if "original_content" in payload:
            measure = retention_from_content(original=payload["original_content"], current=payload["current_content"])
        else:
            measure = retention_from_counts(retained_chars=payload["retained_chars"], total_chars=payload["total_chars"])
        label = RETENTION_LABELS[checkpoint]
        c[f"retention_{label}_retained"] += measure.retained_chars
        c[f"retention_{label}_total"] += measure.total_chars
        c[f"retention_{label}_checks"] += 1
        c[f"retention_{label}_unchanged"] += int(measure.unchanged)
        c[f"retention_{label}_mostly_unchanged"] += int(measure.mostly_unchanged)

    def add_session(self, *, version: str, tasks: int, tests_passed: int, tests_total: int) -> None:
        c = self._versions[version].counters
        c["sessions"] += 1
        c["tasks"] += tasks
        c["tests_passed"] += tests_passed
        c["tests_total"] += tests_total

    def metrics(self) -> dict[str, dict[str, Any]]:
        """Per version (sorted by name): every ``SUMMARY_KEYS`` metric plus the extras."""
        return {version: self._metrics(self._versions[version]) for version in sorted(self._versions)}

    @staticmethod
    def _metrics(v: _Version) -> dict[str, Any]:
        c = v.counters
        finished_tokens = sum(v.task_tokens.get(task_id, 0) for task_id in v.finished)
        labels = RETENTION_LABELS.values()
        accepted, rejected = c["suggestions_accepted"], c["suggestions_rejected"]
        return {
            "events": c["events"],
            "code_retention": {l: safe_ratio(c[f"retention_{l}_retained"], c[f"retention_{l}_total"]) for l in labels},
            "code_retention_unchanged": {l: safe_ratio(c[f"retention_{l}_unchanged"], c[f"retention_{l}_checks"]) for l in labels},
            "code_retention_mostly_unchanged": {l: safe_ratio(c[f"retention_{l}_mostly_unchanged"], c[f"retention_{l}_checks"]) for l in labels},
            "retention_checks": {l: c[f"retention_{l}_checks"] for l in labels},
            "tool_calls": c["tool_calls"],
            "tool_errors": c["tool_errors"],
            "tool_call_error_rate": safe_ratio(c["tool_errors"], c["tool_calls"]),
            "tasks_finished": len(v.finished),
            "task_success_rate": safe_ratio(c["tasks_succeeded"], len(v.finished)),
            "tokens_per_task": safe_ratio(finished_tokens, len(v.finished)),
            "tokens_total": c["tokens_total"],
            "tokens_per_accepted_line": safe_ratio(c["tokens_total"], c["accepted_lines"]),
            "suggestions_shown": c["suggestions_shown"],
            "suggestions_accepted": accepted,
            "suggestions_rejected": rejected,
            "acceptance_rate": safe_ratio(accepted, accepted + rejected),
            "feedback_up": c["feedback_up"],
            "feedback_down": c["feedback_down"],
            # simulator-only extras
            "sessions": c["sessions"],
            "tasks": c["tasks"],
            "unit_test_pass_rate": safe_ratio(c["tests_passed"], c["tests_total"]),
            "tool_call_error_rate_by_shell": {
                shell: safe_ratio(errors, calls) for shell, (calls, errors) in sorted(v.by_shell.items())
            },
            "tool_errors_by_kind": dict(sorted(v.error_kinds.items())),
        }


def ground_truth(events: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The summary metrics of ``events`` (as stored) per version; extras stay zero/None."""
    truth = GroundTruth()
    for event in events:
        truth.add_event(event)
    return truth.metrics()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def summary_mismatches(truth: dict[str, dict[str, Any]], summary: dict[str, Any]) -> list[str]:
    """Differences between the ground truth and a ``/api/v1/metrics/summary`` body ([] = equal).

    Ratios are compared to 1e-9 relative: PostgreSQL sums are decimals, so the server's
    division may round differently in the last bit.
    """
    rows = {row["model_version"]: row for row in summary.get("model_versions", [])}
    problems = [f"version {v}: reported by the server, not sent" for v in rows if v not in truth]
    for version, expected in truth.items():
        row = rows.get(version)
        if row is None:
            problems.append(f"version {version}: missing from the summary")
            continue
        for key in SUMMARY_KEYS:
            want, got = expected[key], row.get(key)
            if isinstance(want, dict):
                got = got or {}
                for label, value in want.items():
                    if not _same(value, got.get(label)):
                        problems.append(f"version {version}: {key}[{label}] truth={value!r} server={got.get(label)!r}")
            elif not _same(want, got):
                problems.append(f"version {version}: {key} truth={want!r} server={got!r}")
    return problems
