"""Reads of the model registry: what serves, which version a session gets, canary telemetry."""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Sum

from telemetry.metrics import retention_checkpoint
from telemetry.models import Event, Organization
from telemetry.selectors import rollups_filter
from training.models.deployments import CanaryDecision, ModelVersion, ModelVersionState, Rollout, RolloutStatus
from training.release.judge import SessionMetrics

JUDGED_RETENTION_S = 300
WINDOWS_SHELLS = ("cmd", "powershell")


class NoServingVersion(LookupError):
    """The organization has no serving model version yet."""


def version_serving(*, org: Organization) -> ModelVersion | None:
    return ModelVersion.objects.filter(org=org, state=ModelVersionState.SERVING).first()


def rollout_running(*, org: Organization) -> Rollout | None:
    return (
        Rollout.objects.select_related("candidate", "control")
        .filter(org=org, status=RolloutStatus.RUNNING)
        .first()
    )


def assignment_bucket(key: str, *, salt: str) -> float:
    """A stable number in [0, 1) for ``key`` (first 64 bits of SHA-256 of salt:key)."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Assignment:
    version: str
    arm: str
    """"serving" (no canary running), "control" or "canary"."""
    serving_version: str
    canary_version: str | None
    canary_share: float
    rollout_id: int | None
    poll_interval_s: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version, "arm": self.arm, "serving_version": self.serving_version,
            "canary_version": self.canary_version, "canary_share": self.canary_share,
            "rollout_id": self.rollout_id, "poll_interval_s": self.poll_interval_s,
        }


def assignment_get(*, org: Organization, session_id: str, user: str | None = None) -> Assignment:
    """The version serving ``session_id`` now (``NoServingVersion`` if nothing serves).

    Sticky: the arm is a hash of the user (all their sessions see one version) or, without a
    user, of the session, salted with the rollout id so each canary samples other users. It
    is computed from the registry on every call, so a promotion or rollback changes the
    answer at once; clients re-ask every ``poll_interval_s`` seconds.
    """
    poll = int(settings.FLYWHEEL_ASSIGNMENT_POLL_S)
    rollout = rollout_running(org=org)
    if rollout is not None:
        key = user or session_id
        in_canary = assignment_bucket(key, salt=f"rollout-{rollout.pk}") < rollout.canary_share
        chosen = rollout.candidate if in_canary else rollout.control
        return Assignment(
            version=chosen.name, arm="canary" if in_canary else "control", serving_version=rollout.control.name,
            canary_version=rollout.candidate.name, canary_share=rollout.canary_share, rollout_id=rollout.pk,
            poll_interval_s=poll,
        )
    serving = version_serving(org=org)
    if serving is None:
        raise NoServingVersion(f"organization {org.slug} has no serving model version; register one first")
    return Assignment(serving.name, "serving", serving.name, None, 0.0, None, poll)


def rollout_session_metrics(*, rollout: Rollout) -> tuple[list[SessionMetrics], list[SessionMetrics]]:
    """(control sessions, canary sessions) from the telemetry both arms sent since the rollout began.

    Reads raw events, not rollups: the judge needs per-user values (each session carries
    its user, the unit assignment is sticky for), which hourly rollups do not keep. The
    window is by arrival (``received_at``), the same for both arms.
    """
    names = {rollout.control.name: "control", rollout.candidate.name: "canary"}
    rows = (
        Event.objects.filter(org=rollout.org, model_version__in=list(names), received_at__gte=rollout.started_at)
        .values_list("model_version", "session_id", "user_hash", "task_id", "type", "os", "shell", "payload")
        .order_by()
    )
    facts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    task_tokens: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    finished: dict[tuple[str, str], set[str]] = defaultdict(set)
    users: dict[tuple[str, str], str] = {}
    for version, session, user, task, kind, os_name, shell, payload in rows:
        f = facts[(version, session)]
        if user:
            users[(version, session)] = user
        if kind == "tool.call":
            failed = int(payload.get("status") == "error")
            f["tool_calls"] += 1
            f["tool_errors"] += failed
            if os_name == "windows" and shell in WINDOWS_SHELLS and payload.get("tool") == "shell":
                f["windows_shell_calls"] += 1
                f["windows_shell_errors"] += failed
        elif kind == "llm.usage" and task:
            task_tokens[(version, session)][task] += (
                payload.get("input_tokens", 0) + payload.get("output_tokens", 0)
                + payload.get("cache_read_tokens", 0) + payload.get("cache_write_tokens", 0)
            )
        elif kind == "task.finished" and task and task not in finished[(version, session)]:
            finished[(version, session)].add(task)
            f["tasks_finished"] += 1
            f["tasks_succeeded"] += int(payload.get("outcome") == "success")
        elif kind == "code.retention" and retention_checkpoint(payload.get("elapsed_s", 0)) == JUDGED_RETENTION_S:
            f["retention_retained"] += int(payload.get("retained_chars", 0))
            f["retention_total"] += int(payload.get("total_chars", 0))
    arms: dict[str, list[SessionMetrics]] = {"control": [], "canary": []}
    for (version, session), f in sorted(facts.items()):
        tokens = sum(task_tokens[(version, session)].get(t, 0) for t in finished[(version, session)])
        arms[names[version]].append(SessionMetrics(session_id=session, unit=users.get((version, session), ""),
                                                   finished_task_tokens=tokens, **f))
    return arms["control"], arms["canary"]


def deployments_overview(*, org: Organization) -> dict[str, Any]:
    """Versions with lineage and state, rollouts with progress and every decision, and the
    traffic (events per hour) each version served, from the rollups (dashboard)."""
    versions = list(ModelVersion.objects.filter(org=org).select_related("parent").order_by("created_at", "id"))
    rollouts = list(
        Rollout.objects.filter(org=org).select_related("candidate", "control").prefetch_related("decisions")
        .order_by("-started_at", "-id")
    )
    traffic = (
        rollups_filter(org=org).values("hour", "model_version").annotate(events=Sum("events")).order_by("hour", "model_version")
    )
    return {
        "traffic": [
            {"hour": row["hour"].isoformat(), "model_version": row["model_version"], "events": row["events"]} for row in traffic
        ],
        "versions": [
            {
                "name": v.name, "state": v.state, "artifact": v.artifact, "artifact_kind": v.artifact_kind,
                "parent": v.parent.name if v.parent else None, "rl_run_id": v.rl_run_id,
                "reward_model_version": v.reward_model_version, "gate_passed": v.gate_passed,
                "gate_reasons": (v.gate_result or {}).get("reasons", []), "created_at": v.created_at.isoformat(),
                "state_changed_at": v.state_changed_at.isoformat(),
            }
            for v in versions
        ],
        "rollouts": [_rollout_dict(r, list(r.decisions.all())) for r in rollouts],
    }


def _rollout_dict(rollout: Rollout, decisions: list[CanaryDecision]) -> dict[str, Any]:
    last = decisions[-1] if decisions else None
    needed = rollout.min_sessions_per_arm
    sessions = (last.sessions_control, last.sessions_canary) if last else (0, 0)
    return {
        "id": rollout.pk, "candidate": rollout.candidate.name, "control": rollout.control.name,
        "status": rollout.status, "backend": rollout.backend, "canary_share": rollout.canary_share,
        "min_sessions_per_arm": needed, "started_at": rollout.started_at.isoformat(),
        "deadline": rollout.deadline.isoformat(),
        "finished_at": rollout.finished_at.isoformat() if rollout.finished_at else None, "error": rollout.error,
        "progress": min(1.0, min(sessions) / needed) if needed else 1.0,
        "sessions_control": sessions[0], "sessions_canary": sessions[1],
        "decisions": [
            {"at": d.created_at.isoformat(), "verdict": d.verdict, "reason": d.reason,
             "sessions_control": d.sessions_control, "sessions_canary": d.sessions_canary, "metrics": d.metrics}
            for d in decisions
        ],
    }
