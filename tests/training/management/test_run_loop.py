"""``manage.py run_loop`` end to end on a small configuration: a real tiny policy served over
vLLM's HTTP API, simulated traffic through the real ingestion, preference mining, a reward
model, an RL run on local Ray, the gate, the canary and its verdict, and the before/after."""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from rewards.models import PreferenceDataset, RewardModelVersion
from rewards.services import reward_model_promotion_refusal
from telemetry.models import Organization
from tests.training.policy.factories import tiny_bootstrap
from telemetry.models import ApiKey
from training.models.deployments import ModelVersion, Rollout
from training.models.runs import TrainingRun

pytestmark = pytest.mark.django_db(transaction=True)
HEADLINE = ("code_retention_5m", "tool_call_error_rate", "tokens_per_task", "windows_terminal_accuracy", "task_success_rate")


def test_run_loop_small_end_to_end(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    settings.TRAINING_RUNS_DIR = tmp_path / "runs"
    # The embedded default: RL on local Ray in-process (the Ray Jobs path has its own tests).
    settings.RAY_ADDRESS = ""
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    policy = tiny_bootstrap(tmp_path / "policies" / "v0").path
    out = io.StringIO()
    call_command(
        "run_loop", "--cycles", "1", "--seed", "5", "--org", "loop-test", "--policy", str(policy),
        "--traffic-sessions", "16", "--canary-sessions", "16", "--canary-max-rounds", "1", "--after-sessions", "12",
        "--canary-share", "0.5", "--min-sessions-per-arm", "4", "--canary-max-duration", "5",
        "--rl-steps", "1", "--rl-group-size", "2", "--rl-prompts-per-step", "2", "--gate-margin", "-1",
        "--eval-samples", "2", "--json", "--no-progress", stdout=out,
    )
    lines = out.getvalue().strip().splitlines()
    result = json.loads(lines[-1])
    assert any(line.startswith("Dashboard: ") and "/dashboard/deployments/?org=loop-test" in line for line in lines)
    (cycle,) = result["cycles"]
    assert cycle["serving_before"] == "v0" and cycle["candidate"] == "v1"
    # Every step really ran and left its record.
    org = Organization.objects.get(slug="loop-test")
    assert PreferenceDataset.objects.filter(org=org, version=cycle["lineage"]["preference_dataset"]).exists()
    trained = RewardModelVersion.objects.get(version=cycle["lineage"]["reward_model_trained"])
    assert trained.dataset.version == cycle["lineage"]["preference_dataset"]
    if reward_model_promotion_refusal(trained) is None:  # RL's rewards come from the model just trained
        assert trained.is_active and cycle["lineage"]["reward_model"] == trained.version
    else:  # or, when it ranks held-out pairs no better than chance, from the active one, if any
        assert not trained.is_active and cycle["lineage"]["reward_model"] != trained.version
    candidate = ModelVersion.objects.get(org=org, name="v1")
    assert (candidate.parent.name, candidate.rl_run_id, candidate.reward_model_version) == (
        "v0", cycle["lineage"]["rl_run_id"], cycle["lineage"]["reward_model"])
    assert candidate.gate_result["reasons"] == cycle["gate"]["reasons"] and candidate.evaluation["split"] == "eval"
    assert candidate.evaluation["samples_per_task"] == candidate.gate_result["primary"]["samples_per_task"] == 2
    assert candidate.evaluation["temperature"] == 0.7  # the serving temperature
    if cycle["gate"]["passed"]:
        rollout = Rollout.objects.get(org=org, candidate=candidate)
        assert rollout.status in ("promoted", "rolled_back") and cycle["canary"]["status"] == rollout.status
        assert cycle["serving_after"] == ("v1" if rollout.status == "promoted" else "v0")
    else:
        assert cycle["canary"] is None and cycle["serving_after"] == "v0"
    assert ModelVersion.objects.get(org=org, name=cycle["serving_after"]).state == "serving"
    # Before/after: the headline metrics with 95% intervals, from the summary endpoint's windows.
    for side in ("before", "after"):
        assert cycle[side]["events"] > 0
        for key in HEADLINE:
            assert set(cycle[side][key]) == {"value", "low", "high", "n"}
        assert 0.0 <= cycle[side]["tool_call_error_rate"]["value"] <= 1.0
    assert cycle["before"]["version"] == "v0" and cycle["after"]["version"] == cycle["serving_after"]
    assert cycle["traffic"]["before"]["sessions"] == {"v0": 16}
    run = TrainingRun.objects.get(pk=cycle["rl"]["run_id"])
    assert run.status == "succeeded" and run.reward_model_version == cycle["lineage"]["reward_model"]
    assert run.config["reward_source"] == "http" and run.step == 1
    assert ApiKey.objects.filter(org=org, name="rl-cycle-1", revoked_at__isnull=False).exists()  # the job's key, revoked
    assert set(result["timings_s"]) >= {"traffic", "mine preferences", "train reward model", "RL", "gate", "after"}
