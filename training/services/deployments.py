"""Writes of the model registry: register versions, record the gate, run canaries to a verdict.

The deploy itself (an HTTP call to a model server) happens outside any transaction; the
registry changes only after it succeeded. Unloading a rolled-back version happens after
the commit that took it out of the assignment.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from telemetry.models import Organization
from training.models.deployments import (
    CanaryDecision,
    ModelVersion,
    ModelVersionState,
    Rollout,
    RolloutStatus,
)
from training.release.backends import DeployBackend, DeployError, artifact_kind, deploy_backend_create
from training.release.gate import GateResult
from training.release.judge import JudgeConfig, JudgeMetric, canary_judge
from training.selectors.deployments import rollout_session_metrics, version_serving


class DeploymentRefused(RuntimeError):
    """The registry does not allow this step (wrong state, gate not passed, canary running...)."""


def model_version_register(
    *,
    org: Organization,
    name: str,
    artifact: str,
    parent: ModelVersion | None = None,
    rl_run_id: str = "",
    reward_model_version: str = "",
    evaluation: dict[str, Any] | None = None,
) -> ModelVersion:
    """A new candidate version with its lineage."""
    if ModelVersion.objects.filter(org=org, name=name).exists():
        raise DeploymentRefused(f"version {name} already exists in {org.slug}; versions are immutable")
    return ModelVersion.objects.create(
        org=org, name=name, artifact=str(artifact), artifact_kind=artifact_kind(artifact), parent=parent,
        rl_run_id=rl_run_id, reward_model_version=reward_model_version, evaluation=evaluation,
    )


@transaction.atomic
def model_version_serve_initial(*, org: Organization, name: str, artifact: str) -> ModelVersion:
    """The first serving version of ``org`` (e.g. the bootstrapped v0); returns the serving one if any."""
    serving = version_serving(org=org)
    if serving is not None:
        return serving
    version = model_version_register(org=org, name=name, artifact=artifact)
    return _state_set(version, ModelVersionState.SERVING)


def model_version_gate_record(*, version: ModelVersion, result: GateResult, evaluation: dict[str, Any]) -> ModelVersion:
    """Store the gate's decision with every number, and the candidate's evaluation report."""
    version.gate_passed = result.passed
    version.gate_result = result.to_dict()
    version.evaluation = evaluation
    version.save(update_fields=["gate_passed", "gate_result", "evaluation"])
    return version


def _state_set(version: ModelVersion, state: str) -> ModelVersion:
    version.state = state
    version.state_changed_at = timezone.now()
    version.save(update_fields=["state", "state_changed_at"])
    return version


def judge_config_from_dict(data: dict[str, Any]) -> JudgeConfig:
    return JudgeConfig(
        metrics=tuple(JudgeMetric(**m) for m in data["metrics"]), primary=data["primary"], alpha=data["alpha"],
        min_sessions_per_arm=data["min_sessions_per_arm"],
    )


def rollout_start(
    *,
    candidate: ModelVersion,
    backend: DeployBackend,
    canary_share: float = 0.10,
    judge_config: JudgeConfig | None = None,
    max_duration: timedelta = timedelta(hours=24),
    now: datetime | None = None,
) -> Rollout:
    """Deploy ``candidate`` beside the serving version and start its canary.

    Preconditions: the candidate passed the gate, is still a candidate, and nothing else
    is in canary. The deploy is verified (``/v1/models`` + a test completion) before the
    rollout exists, so no session is assigned to a version that does not answer. A failed
    deploy is recorded as a failed rollout and changes nothing else.
    """
    org = candidate.org
    judge_config = judge_config or JudgeConfig()
    if candidate.state != ModelVersionState.CANDIDATE:
        raise DeploymentRefused(f"{candidate.name} is {candidate.state}, not a candidate")
    if candidate.gate_passed is not True:
        raise DeploymentRefused(f"{candidate.name} has not passed the evaluation gate")
    if not 0.0 < canary_share < 1.0:
        raise DeploymentRefused("canary_share must be in (0, 1)")
    control = version_serving(org=org)
    if control is None:
        raise DeploymentRefused(f"{org.slug} has no serving version to compare the canary with")
    if Rollout.objects.filter(org=org, status=RolloutStatus.RUNNING).exists():
        raise DeploymentRefused(f"{org.slug} already has a canary running")
    started = now or timezone.now()
    fields = dict(
        org=org, candidate=candidate, control=control, backend=backend.name, endpoint=backend.base_url,
        canary_share=canary_share, min_sessions_per_arm=judge_config.min_sessions_per_arm,
        judge_config=judge_config.to_dict(), started_at=started, deadline=started + max_duration,
    )
    try:
        backend.deploy(version=candidate.name, artifact=candidate.artifact, kind=candidate.artifact_kind)
    except DeployError as error:
        return Rollout.objects.create(**fields, status=RolloutStatus.FAILED, error=str(error), finished_at=started)
    with transaction.atomic():
        rollout = Rollout.objects.create(**fields)
        _state_set(candidate, ModelVersionState.CANARY)
    return rollout


def rollout_judge(*, rollout: Rollout, now: datetime | None = None) -> CanaryDecision:
    """Judge a running canary on its telemetry so far, record the decision, and act on it."""
    if rollout.status != RolloutStatus.RUNNING:
        raise DeploymentRefused(f"rollout {rollout.pk} is {rollout.status}, not running")
    now = now or timezone.now()
    control, canary = rollout_session_metrics(rollout=rollout)
    judgement = canary_judge(
        control=control, canary=canary, config=judge_config_from_dict(rollout.judge_config),
        deadline_passed=now >= rollout.deadline,
    )
    with transaction.atomic():
        decision = CanaryDecision.objects.create(
            rollout=rollout, verdict=judgement.verdict, reason=judgement.reason,
            sessions_control=judgement.sessions_control, sessions_canary=judgement.sessions_canary,
            metrics=judgement.metrics_json(),
        )
        if judgement.verdict == "promote":
            rollout_promote(rollout=rollout, now=now)
        elif judgement.verdict == "rollback":
            rollout_rollback(rollout=rollout, now=now)
    return decision


@transaction.atomic
def rollout_promote(*, rollout: Rollout, now: datetime | None = None) -> Rollout:
    """The canary becomes the serving version for every client; the old one is retired."""
    rollout = Rollout.objects.select_for_update().get(pk=rollout.pk)
    _state_set(rollout.control, ModelVersionState.RETIRED)
    _state_set(rollout.candidate, ModelVersionState.SERVING)
    return _finish(rollout, RolloutStatus.PROMOTED, now)


@transaction.atomic
def rollout_rollback(*, rollout: Rollout, now: datetime | None = None) -> Rollout:
    """Every client goes back to the control; the canary is unloaded once that is committed."""
    rollout = Rollout.objects.select_for_update().get(pk=rollout.pk)
    _state_set(rollout.candidate, ModelVersionState.ROLLED_BACK)
    backend, endpoint, name = rollout.backend, rollout.endpoint, rollout.candidate.name
    transaction.on_commit(lambda: _unload_quietly(backend, endpoint, name))
    return _finish(rollout, RolloutStatus.ROLLED_BACK, now)


def _finish(rollout: Rollout, status: str, now: datetime | None) -> Rollout:
    rollout.status = status
    rollout.finished_at = now or timezone.now()
    rollout.save(update_fields=["status", "finished_at"])
    return rollout


def _unload_quietly(backend_name: str, endpoint: str, version: str) -> None:
    """Unload a rolled-back version; a server that is gone has nothing left to unload."""
    import logging

    try:
        deploy_backend_create(backend_name, endpoint).undeploy(version=version)
    except DeployError as error:
        logging.getLogger("flywheel.deployments").warning("could not unload %s from %s: %s", version, endpoint, error)


def judgement_summary(decision: CanaryDecision) -> dict[str, Any]:
    """JSON-ready decision, for commands and logs."""
    return {"verdict": decision.verdict, "reason": decision.reason, "sessions_control": decision.sessions_control,
            "sessions_canary": decision.sessions_canary, "metrics": decision.metrics}


