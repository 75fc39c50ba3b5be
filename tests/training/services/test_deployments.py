"""The release path on the real database: registry, deploy, assignment, canary verdicts.

Canary traffic is the project's simulator sending telemetry through the real HTTP
ingestion of a live server, each session asking ``GET /api/v1/assignment`` which version
to use; answers come from the simulator's reference responder, whose per-version flavor
mixes make "v2" better and "v1" worse than "v0" (``CANARY_MIXES``).
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.utils import timezone as dj_timezone

from telemetry.services import api_key_create, organization_get_or_create
from tests.factories import api_client_for
from training.models.deployments import ModelVersion, Rollout
from training.release.backends import LocalBackend
from training.release.gate import GateConfig, gate_evaluate
from training.release.judge import JudgeConfig
from training.selectors.deployments import assignment_get
from training.services.deployments import (
    DeploymentRefused,
    model_version_gate_record,
    model_version_register,
    model_version_serve_initial,
    rollout_judge,
    rollout_rollback,
    rollout_start,
)
from training.simulator import ReferenceResponder, ServedAssignment, SimulationConfig, TelemetrySender, simulate
from training.simulator.responders import REFERENCE_MIXES
from tests.training.release.test_gate import BETTER_SHELLS, report

PASSING = gate_evaluate(candidate=report("c", success=90, shells=BETTER_SHELLS), serving=report("s", success=60))


def candidate_registered(org, name: str, artifact: Path, parent: ModelVersion) -> ModelVersion:
    version = model_version_register(org=org, name=name, artifact=str(artifact), parent=parent, rl_run_id="run-7",
                                     reward_model_version="rm-3")
    return model_version_gate_record(version=version, result=PASSING, evaluation={"success_rate": 0.65})


@pytest.fixture()
def org(db):
    return organization_get_or_create(slug="acme", name="Acme")


@pytest.fixture()
def v0(org, tiny_v0):
    return model_version_serve_initial(org=org, name="v0", artifact=str(tiny_v0))


def versions_for(org, sessions: int, *, user_prefix: str = "u") -> Counter:
    return Counter(assignment_get(org=org, session_id=f"s-{i}", user=f"{user_prefix}{i}").version for i in range(sessions))


@pytest.mark.django_db
def test_gate_refused_candidate_cannot_be_deployed(org, v0, tiny_candidate, policy_server):
    candidate = model_version_register(org=org, name="v1", artifact=str(tiny_candidate), parent=v0)
    refused = gate_evaluate(candidate=report("v1", success=50), serving=report("v0", success=60), config=GateConfig())
    model_version_gate_record(version=candidate, result=refused, evaluation={})
    candidate.refresh_from_db()
    assert candidate.gate_passed is False and candidate.gate_result["primary"]["passed"] is False
    with pytest.raises(DeploymentRefused, match="has not passed the evaluation gate"):
        rollout_start(candidate=candidate, backend=LocalBackend(policy_server.url))


@pytest.mark.django_db
def test_lineage_is_recorded(org, v0, tiny_candidate):
    candidate = candidate_registered(org, "v1", tiny_candidate, v0)
    assert (candidate.parent, candidate.rl_run_id, candidate.reward_model_version) == (v0, "run-7", "rm-3")
    assert candidate.state == "candidate" and candidate.artifact_kind == "full"
    with pytest.raises(DeploymentRefused, match="immutable"):
        model_version_register(org=org, name="v1", artifact=str(tiny_candidate))


@pytest.mark.django_db
def test_failed_deploy_leaves_serving_untouched(org, v0, tmp_path, policy_server):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": "wide"}))
    candidate = candidate_registered(org, "v1", broken, v0)
    rollout = rollout_start(candidate=candidate, backend=LocalBackend(policy_server.url))
    assert rollout.status == "failed" and "loading v1" in rollout.error
    candidate.refresh_from_db()
    v0.refresh_from_db()
    assert candidate.state == "candidate" and v0.state == "serving"
    assert versions_for(org, 200) == {"v0": 200}


@pytest.mark.django_db
def test_assignment_is_sticky_with_the_canary_share_and_rollback_restores_every_client(
    org, v0, tiny_candidate, policy_server, django_capture_on_commit_callbacks
):
    candidate = candidate_registered(org, "v1", tiny_candidate, v0)
    rollout = rollout_start(candidate=candidate, backend=LocalBackend(policy_server.url))
    assert rollout.status == "running" and rollout.canary_share == 0.10
    counts = versions_for(org, 2000)
    assert 0.075 < counts["v1"] / 2000 < 0.125  # binomial sd 0.0067 around 10%
    # Sticky: the same user gets the same version in every session; without a user, per session.
    for i in range(100):
        answers = {assignment_get(org=org, session_id=f"other-{j}", user=f"u{i}").version for j in range(3)}
        assert len(answers) == 1
    assert len({assignment_get(org=org, session_id="lonely").version for _ in range(5)}) == 1
    assert "v1" in LocalBackend(policy_server.url).verify(version="v1").served_models

    with django_capture_on_commit_callbacks(execute=True):
        rollout_rollback(rollout=rollout)
    assert versions_for(org, 1000) == {"v0": 1000}
    candidate.refresh_from_db()
    assert candidate.state == "rolled_back"
    assert "v1" not in LocalBackend(policy_server.url).verify(version="v1").served_models  # unloaded after commit


@pytest.mark.django_db
def test_assignment_endpoint(org, v0, settings):
    settings.FLYWHEEL_ASSIGNMENT_POLL_S = 15
    api = api_client_for(org)
    answer = api.get("/api/v1/assignment", {"session_id": "s-1", "user": "u-1"})
    assert answer.status_code == 200
    assert answer.json() == {"version": "v0", "arm": "serving", "serving_version": "v0", "canary_version": None,
                             "canary_share": 0.0, "rollout_id": None, "poll_interval_s": 15}
    assert answer["Cache-Control"] == "private, max-age=15"
    missing = api.get("/api/v1/assignment")
    assert missing.status_code == 400 and missing.json()["field"] == "session_id"
    too_long = api.get("/api/v1/assignment", {"session_id": "x" * 129})
    assert too_long.status_code == 400 and too_long.json()["field"] == "session_id"
    from rest_framework.test import APIClient

    assert APIClient().get("/api/v1/assignment", {"session_id": "s"}).status_code == 401
    other = organization_get_or_create(slug="empty", name="Empty")
    assert api_client_for(other).get("/api/v1/assignment", {"session_id": "s"}).status_code == 404
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/assignment" in schema["paths"]


# The arms are split by a hash of the user salted with the rollout's id, which differs from
# run to run. Users differ a lot (OS, task kinds), so with a few dozen users per arm their mix
# alone can make an arm look better or worse: every session here is its own user. And "v1"
# of REFERENCE_MIXES is only mildly worse than "v0"; the rolled-back canary here is clearly worse.
CANARY_MIXES = {**REFERENCE_MIXES, "v1": (("linux_biased", 0.55), ("wrong", 0.25), ("verbose", 0.15), ("truncated", 0.05))}


def canary_traffic(base_url: str, api_key: str, *, versions: list[str], sessions: int, seed: int) -> Counter:
    """Simulated IDE sessions, each asking the assignment endpoint, telemetry over HTTP."""
    assigner = ServedAssignment(base_url, api_key, versions=versions)
    start = datetime.now(timezone.utc).replace(microsecond=0)
    with TelemetrySender(base_url, api_key) as sender:
        simulate(
            SimulationConfig(sessions=sessions, seed=seed, start=start, span_hours=1.0, sessions_per_user=1.0), responder=ReferenceResponder(CANARY_MIXES),
            assigner=assigner, sink=lambda record, json_events, otlp_events: sender.add(json_events), keep_events=False,
        )
    return Counter(assigner.answers)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "verdict", "serving_after"), [("v2", "promote", "v2"), ("v1", "rollback", "v0")])
def test_canary_on_simulated_traffic_is_promoted_or_rolled_back(
    name, verdict, serving_after, live_server, tiny_v0, tiny_candidate, policy_server
):
    org = organization_get_or_create(slug=f"canary-{name}", name="Canary")
    key = api_key_create(org=org)
    v0 = model_version_serve_initial(org=org, name="v0", artifact=str(tiny_v0))
    candidate = candidate_registered(org, name, tiny_candidate, v0)
    rollout = rollout_start(
        candidate=candidate, backend=LocalBackend(policy_server.url), canary_share=0.5,
        judge_config=JudgeConfig(min_sessions_per_arm=60),
    )
    early = rollout_judge(rollout=rollout)
    assert early.verdict == "wait" and early.sessions_canary == 0

    answered = canary_traffic(live_server.url, key, versions=["v0", name], sessions=260, seed=21)
    assert answered[name] > 90 and answered["v0"] > 90

    decision = rollout_judge(rollout=Rollout.objects.get(pk=rollout.pk))
    assert decision.verdict == verdict, decision.reason
    assert decision.sessions_canary == answered[name] and decision.sessions_control == answered["v0"]
    assert {m["key"] for m in decision.metrics} >= {"code_retention_5m", "tool_call_error_rate", "tokens_per_task",
                                                   "task_success_rate", "windows_terminal_accuracy"}
    rollout.refresh_from_db()
    assert rollout.status == ("promoted" if verdict == "promote" else "rolled_back")
    # Every client now gets the serving version: the next poll answers it.
    assert versions_for(org, 500) == {serving_after: 500}
    states = dict(ModelVersion.objects.filter(org=org).values_list("name", "state"))
    assert states == ({"v0": "retired", name: "serving"} if verdict == "promote" else {"v0": "serving", name: "rolled_back"})


@pytest.mark.django_db
def test_inconclusive_canary_times_out_into_a_rollback(org, v0, tiny_candidate, policy_server):
    candidate = candidate_registered(org, "v1", tiny_candidate, v0)
    started = dj_timezone.now()
    rollout = rollout_start(
        candidate=candidate, backend=LocalBackend(policy_server.url), judge_config=JudgeConfig(min_sessions_per_arm=30),
        max_duration=timedelta(hours=2), now=started,
    )
    waiting = rollout_judge(rollout=rollout, now=started + timedelta(hours=1))
    assert waiting.verdict == "wait"
    assert rollout.decisions.count() == 1 and Rollout.objects.get(pk=rollout.pk).status == "running"
    timed_out = rollout_judge(rollout=Rollout.objects.get(pk=rollout.pk), now=started + timedelta(hours=2, seconds=1))
    assert timed_out.verdict == "rollback" and "deadline passed" in timed_out.reason
    assert versions_for(org, 300) == {"v0": 300}


def test_the_judge_reads_each_session_with_its_user(org, v0, tiny_candidate, policy_server):
    """Sessions carry the (hashed) user assignment is sticky for, so the judge can count users."""
    from telemetry.services import events_ingest
    from tests.factories import make_event
    from training.release.judge import units_aggregate
    from training.selectors.deployments import rollout_session_metrics

    candidate = candidate_registered(org, "v1", tiny_candidate, v0)
    rollout = rollout_start(candidate=candidate, backend=LocalBackend(policy_server.url),
                            judge_config=JudgeConfig(min_sessions_per_arm=1))
    events = [
        make_event("tool.call", version=version, session_id=f"{user}-{version}-{k}", user=f"{user}@example.com",
                   payload={"tool": "shell", "status": "error", "error_kind": "nonzero_exit", "exit_code": 1, "duration_ms": 5}
                   if user == "ann" else None)
        for version, users in (("v0", ("ann", "bob")), ("v1", ("cid",))) for user in users for k in range(3)
    ]
    assert events_ingest(org=org, events=events).accepted == len(events)
    control, canary = rollout_session_metrics(rollout=rollout)
    assert len(control) == 6 and len(canary) == 3
    assert len({s.unit for s in control}) == 2 and all(s.unit for s in control + canary)
    per_user = units_aggregate(control)
    assert sorted((u.tool_calls, u.tool_errors) for u in per_user) == [(3, 0), (3, 3)]
