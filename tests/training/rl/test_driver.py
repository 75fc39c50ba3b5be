"""Real RL runs on local Ray with the tiny policy: reward goes up; checkpoints load; resume works."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.training.rl.factories import ARGUMENT_FREE_PREFIXES, RL_TASK_PREFIXES, tiny_rl_policy
from training.rl.config import LoraSettings, RLConfig
from training.rl.driver import RLStopped, actor_gpu_shares, rl_train
from training.rl.reporting import RunReport

METRIC_KEYS = ("reward/mean", "reward/correctness/mean", "loss/policy", "clip/fraction", "entropy",
               "tokens/response_mean", "sampling/kept_groups")


def rl_config(policy: Path, output: Path, **overrides) -> RLConfig:
    options = dict(
        policy_path=str(policy), output_dir=str(output), task_id_prefixes=RL_TASK_PREFIXES, group_size=8,
        prompts_per_step=8, learning_rate=1e-3, max_new_tokens=24, overlong_buffer=8, reward_source="environment",
        steps=24, checkpoint_every=8, seed=0,
        task_variants=False,  # the tiny policy memorises its few tasks; it cannot copy renamed arguments
    )
    return RLConfig(**(options | overrides))


class Recorder:
    def __init__(self, stop_at: int | None = None) -> None:
        self.reports: list[RunReport] = []
        self.stop_at = stop_at

    def report(self, report: RunReport) -> bool:
        self.reports.append(report)
        return self.stop_at is None or report.step < self.stop_at


@pytest.mark.parametrize("rollout_ahead", [False, True], ids=["on-policy", "rollout-ahead"])
def test_rl_raises_mean_reward_on_training_tasks(rl_policy, local_ray, tmp_path, rollout_ahead):
    recorder = Recorder()
    result = rl_train(rl_config(rl_policy, tmp_path / "run", eval_tasks=6, rollout_ahead=rollout_ahead), reporter=recorder)
    rewards = [m["reward/mean"] for m in result.history]
    first, last = sum(rewards[:6]) / 6, sum(rewards[-6:]) / 6
    print(f"reward/mean first 6 steps {first:.3f} -> last 6 steps {last:.3f}; held-out success "
          f"{result.heldout_success_before:.3f} -> {result.heldout_success_after:.3f}")
    assert last > first + 0.1
    assert result.heldout_success_after is not None
    # metrics reported every step, with the namespaced keys
    step_reports = [r for r in recorder.reports if r.metrics]
    assert [r.step for r in step_reports] == list(range(1, 25))
    assert all(key in step_reports[-1].metrics for key in METRIC_KEYS)
    # an HF checkpoint the serving registry loads as a full fine-tune
    checkpoint = Path(result.checkpoint_dir)
    assert checkpoint.name == "step-000024" and (checkpoint / "model.safetensors").is_file()
    from training.serving.registry import ModelRegistry, ServedModel
    from training.policy.model import policy_load

    base_model, tokenizer = policy_load(rl_policy)
    registry = ModelRegistry(ServedModel(name="base", root=str(rl_policy), kind="base", model=base_model, tokenizer=tokenizer))
    assert registry.load("rl", str(checkpoint)).kind == "full"
    metadata = json.loads((checkpoint / "flywheel_policy.json").read_text())
    assert metadata["parent"] == "tiny-rl-0" and metadata["step"] == 24


def test_rl_raises_held_out_success(local_ray, tmp_path):
    # The held-out tasks of RL_TASK_PREFIXES need a name copied that the tiny policy never saw, and
    # stay at 0 whatever RL does; these ask the trained intents in other words (4 tasks, 32 answers each).
    policy = tiny_rl_policy(tmp_path / "policy", prefixes=ARGUMENT_FREE_PREFIXES).path
    config = rl_config(policy, tmp_path / "run", task_id_prefixes=ARGUMENT_FREE_PREFIXES, eval_tasks=4,
                       eval_samples=32, eval_temperature=1.0)
    result = rl_train(config)
    rewards = [m["reward/mean"] for m in result.history]
    print(f"reward/mean first 6 steps {sum(rewards[:6]) / 6:.3f} -> last 6 steps {sum(rewards[-6:]) / 6:.3f}; "
          f"held-out success {result.heldout_success_before:.3f} -> {result.heldout_success_after:.3f}")
    assert result.heldout_success_after > result.heldout_success_before + 0.15


def test_lora_checkpoint_holds_the_adapter_alone_and_serves(rl_policy, local_ray, tmp_path):
    result = rl_train(rl_config(rl_policy, tmp_path / "lora", steps=2, lora=LoraSettings(rank=4, alpha=8)))
    checkpoint = Path(result.checkpoint_dir)
    assert (checkpoint / "adapter_model.safetensors").is_file()
    assert not (checkpoint / "model.safetensors").exists()
    from training.serving.registry import ModelRegistry, ServedModel
    from training.policy.model import policy_load

    base_model, tokenizer = policy_load(rl_policy)
    registry = ModelRegistry(ServedModel(name="base", root=str(rl_policy), kind="base", model=base_model, tokenizer=tokenizer))
    assert registry.load("rl-lora", str(checkpoint)).kind == "lora"


@pytest.mark.parametrize("rollout_ahead", [False, True], ids=["on-policy", "rollout-ahead"])
def test_a_stopped_run_resumes_from_its_last_checkpoint_and_replays_the_same_steps(rl_policy, local_ray, tmp_path, rollout_ahead):
    config = rl_config(rl_policy, tmp_path / "resume", steps=6, checkpoint_every=2, rollout_ahead=rollout_ahead)
    with pytest.raises(RLStopped):
        rl_train(config, reporter=Recorder(stop_at=3))
    checkpoints = sorted(p.name for p in (tmp_path / "resume" / "checkpoints").iterdir())
    assert checkpoints == ["step-000002"]  # step 3 was never checkpointed, nothing half-written
    resumed = Recorder()
    result = rl_train(config, reporter=resumed)
    assert result.resumed_from_step == 2
    # the first report re-sends the checkpoint's step, in case the crash came before its report
    assert resumed.reports[0].step == 2 and resumed.reports[0].metrics == result.history[1]
    assert result.steps == 6 and [m["step"] for m in result.history] == [1, 2, 3, 4, 5, 6]
    uninterrupted = rl_train(rl_config(rl_policy, tmp_path / "straight", steps=6, checkpoint_every=2, rollout_ahead=rollout_ahead))
    replayed = [(m["reward/mean"], m["sampling/responses"], m.get("loss/policy")) for m in result.history]
    assert replayed == [(m["reward/mean"], m["sampling/responses"], m.get("loss/policy")) for m in uninterrupted.history]


@pytest.mark.parametrize("device, workers, shares", [("cpu", 2, (0.0, 0.0)), ("cuda", 1, (0.5, 0.5)), ("cuda:0", 2, (0.5, 0.25))])
def test_on_cuda_the_learner_and_the_rollout_workers_share_one_gpu(device, workers, shares):
    assert actor_gpu_shares(RLConfig(device=device, rollout_workers=workers)) == shares


def test_cuda_on_a_cluster_without_a_gpu_fails_at_once_and_says_what_to_do(rl_policy, local_ray, tmp_path):
    with pytest.raises(RuntimeError, match="no GPU: set device to 'cpu'"):
        rl_train(rl_config(rl_policy, tmp_path / "run", device="cuda"))
