"""GRPO/DAPO on Ray (training.rl) vs TRL's GRPOTrainer, side by side in one run, on this CPU.

Same policy (the sloppy tiny policy on Windows terminal tasks, bootstrapped here), same
training tasks, group size, prompts per step, learning rate, clip ratios, max response
length, sampling temperature and reward function (the environment verifier,
``training.rl.rewards.EnvironmentReward``). Reports per trainer: wall time to first reach
the target mean reward (3-step moving average of the step's mean rollout reward), samples
(sampled responses) per second, and the ratios. Ours runs twice: on-policy (sample, then
train) and with ``rollout_ahead`` (the next batch is sampled while the learner trains).

    .venv/bin/python benchmarks/rl.py [--steps 30] [--target 0.5] [--json artifacts/benchmarks/rl.json]
    .venv/bin/python benchmarks/rl.py --device cuda --hidden-size 512 --layers 8 --heads 8   # a larger policy on a GPU

TRL comes from the ``bench`` extra (pip install -e '.[bench]'). If it cannot run here the
script prints its exact error and still reports this job's numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.training.rl.factories import TINY_RL_ARCHITECTURE, tiny_rl_policy  # noqa: E402


def moving_average(values: list[float], window: int = 3) -> list[float]:
    return [sum(values[max(0, i - window + 1) : i + 1]) / len(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))]


def time_to_target(rewards: list[float], times: list[float], target: float) -> float | None:
    """Seconds (from the trainer's start) at the end of the first step whose moving average >= target."""
    for value, at in zip(moving_average(rewards), times):
        if value >= target:
            return at
    return None


def run_ours(policy: Path, out: Path, args, *, rollout_ahead: bool) -> dict:
    from tests.training.rl.factories import RL_TASK_PREFIXES
    from training.rl.config import RLConfig
    from training.rl.driver import rl_train
    from training.rl.reporting import RunReport

    config = RLConfig(
        policy_path=str(policy), output_dir=str(out), task_id_prefixes=RL_TASK_PREFIXES, steps=args.steps,
        group_size=args.group_size, prompts_per_step=args.prompts, learning_rate=args.lr, max_new_tokens=args.max_tokens,
        overlong_buffer=args.max_tokens // 3, reward_source="environment", checkpoint_every=args.steps, seed=args.seed,
        dynamic_sampling=True, curriculum_min_samples=10**6, curriculum_window=10**6,
        task_variants=False,  # TRL gets the catalog prompts: both train on the same tasks
        device=args.device, rollout_ahead=rollout_ahead,
    )
    started = time.monotonic()
    marks: list[tuple[int, float, float, float]] = []  # step, time since start, reward/mean, responses

    class Clock:
        def report(self, report: RunReport) -> bool:
            if report.metrics:
                marks.append((report.step, time.monotonic() - started, report.metrics["reward/mean"], report.metrics["sampling/responses"]))
            return True

    result = rl_train(config, reporter=Clock())
    total = time.monotonic() - started
    loop_start = marks[0][1] - result.history[0]["time/step_s"]
    rewards = [m[2] for m in marks]
    samples = sum(m[3] for m in marks)
    return {"rewards": rewards, "times": [m[1] for m in marks], "total_s": total, "startup_s": loop_start,
            "samples": samples, "samples_per_s": samples / (total - loop_start), "samples_per_s_with_startup": samples / total}


def run_trl(policy: Path, out: Path, args) -> dict:
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from tests.training.rl.factories import rl_tasks
    from training.policy import chat_prompt, policy_load, task_messages
    from training.rl.rewards import EnvironmentReward, Trajectory

    torch.set_num_threads(args.trl_threads)  # one process: give it every core
    started = time.monotonic()  # from here, as for ours: model load, trainer set-up, training
    model, tokenizer = policy_load(policy)
    tasks = rl_tasks("train")
    rows = [{"prompt": chat_prompt(tokenizer, task_messages(t)), "task_id": t.task_id, "task_prompt": t.prompt} for t in tasks]
    dataset = Dataset.from_list(rows * (args.steps * args.prompts // len(rows) + 2))
    environment_reward = EnvironmentReward()
    responses = {"n": 0}

    def environment_verifier(prompts, completions, task_id, task_prompt, **kwargs):
        responses["n"] += len(completions)
        scored = environment_reward([Trajectory(prompt=p, response=c, task=t) for p, c, t in zip(task_prompt, completions, task_id)])
        return [s.reward for s in scored]

    config = GRPOConfig(
        output_dir=str(out), max_steps=args.steps, per_device_train_batch_size=args.prompts * args.group_size,
        num_generations=args.group_size, learning_rate=args.lr, lr_scheduler_type="constant", warmup_steps=0,
        max_completion_length=args.max_tokens, temperature=1.0, beta=0.0, epsilon=0.2, epsilon_high=0.28, loss_type="dapo",
        logging_steps=1, report_to=[], save_strategy="no", use_cpu=args.device == "cpu", seed=args.seed, bf16=False, fp16=False,
        gradient_accumulation_steps=1, num_iterations=1, dataloader_num_workers=0, disable_tqdm=True,
    )
    marks: list[tuple[float, float]] = []

    class Clock(TrainerCallback):
        def on_log(self, _args, state, control, logs=None, **kwargs):
            if logs and "reward" in logs:
                marks.append((time.monotonic() - started, float(logs["reward"])))

    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=environment_verifier, args=config,
                          train_dataset=dataset, callbacks=[Clock()])
    setup = time.monotonic() - started
    trainer.train()
    total = time.monotonic() - started
    return {"rewards": [m[1] for m in marks], "times": [m[0] for m in marks], "total_s": total, "startup_s": setup,
            "samples": responses["n"], "samples_per_s": responses["n"] / (total - setup), "samples_per_s_with_startup": responses["n"] / total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--prompts", type=int, default=8, help="prompts (groups) per step")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--target", type=float, default=None,
                        help="mean reward (3-step moving average) to reach; default: the lower of the two trainers' best")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trl-threads", type=int, default=os.cpu_count(),
                        help="torch threads for TRL's one process (ours: one per Ray actor)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda: both trainers (ours: learner and rollout workers)")
    parser.add_argument("--hidden-size", type=int, default=TINY_RL_ARCHITECTURE.hidden_size, help="policy width (MLP: 2x)")
    parser.add_argument("--layers", type=int, default=TINY_RL_ARCHITECTURE.num_hidden_layers)
    parser.add_argument("--heads", type=int, default=TINY_RL_ARCHITECTURE.num_attention_heads)
    parser.add_argument("--json", default="artifacts/benchmarks/rl.json")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from training.rl.driver import _ray_init

    ray_started = time.monotonic()
    _ray_init()  # the cluster is infrastructure (a Ray head serves every run): started before either clock
    print(f"local Ray started in {time.monotonic() - ray_started:.1f} s (not counted for either trainer)")
    work = Path(tempfile.mkdtemp(prefix="bench-rl-"))
    architecture = replace(
        TINY_RL_ARCHITECTURE, hidden_size=args.hidden_size, intermediate_size=2 * args.hidden_size,
        num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.heads,
    )
    bootstrap = tiny_rl_policy(work / "policy", architecture=architecture, device=args.device)
    policy = bootstrap.path
    print(f"policy: {policy} ({bootstrap.params:,} parameters, {args.device}); "
          f"{args.steps} steps x {args.prompts} prompts x {args.group_size} responses, lr {args.lr}")
    results: dict[str, dict] = {
        "flywheel": run_ours(policy, work / "ours", args, rollout_ahead=False),
        "flywheel_ahead": run_ours(policy, work / "ours-ahead", args, rollout_ahead=True),
    }
    try:
        results["trl"] = run_trl(policy, work / "trl", args)
    except Exception as error:  # report TRL's own error verbatim, keep our numbers
        results["trl"] = {"error": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()[-3000:]}
        print("TRL GRPOTrainer could not run here:\n" + results["trl"]["traceback"])

    finished = [r for r in results.values() if "error" not in r]
    target = args.target if args.target is not None else min(max(moving_average(r["rewards"])) for r in finished)
    print(f"\ntarget mean reward (3-step moving average): {target:.3f}")
    print(f"{'trainer':<15} {'first 3':>8} {'last 3':>8} {'to target':>10} {'loop to tgt':>12} {'total s':>8} {'startup s':>9} {'samples/s':>10}")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:<15} error: {r['error'][:100]}")
            continue
        r["time_to_target_s"] = time_to_target(r["rewards"], r["times"], target)
        r["loop_time_to_target_s"] = r["time_to_target_s"] - r["startup_s"] if r["time_to_target_s"] is not None else None
        first, last = sum(r["rewards"][:3]) / 3, sum(r["rewards"][-3:]) / 3
        reached = f"{r['time_to_target_s']:.1f}" if r["time_to_target_s"] is not None else "never"
        loop = f"{r['loop_time_to_target_s']:.1f}" if r["loop_time_to_target_s"] is not None else "never"
        print(f"{name:<15} {first:>8.3f} {last:>8.3f} {reached:>10} {loop:>12} {r['total_s']:>8.1f} {r['startup_s']:>9.1f} {r['samples_per_s']:>10.1f}")
    trl = results.get("trl", {})
    for name in ("flywheel", "flywheel_ahead"):
        ours = results[name]
        if "error" in trl:
            break
        print(f"\n{name} / TRL ({args.trl_threads} torch threads):")
        print(f"  samples/s, training loop:       {ours['samples_per_s'] / trl['samples_per_s']:.2f}x")
        print(f"  samples/s, with startup:        {ours['samples_per_s_with_startup'] / trl['samples_per_s_with_startup']:.2f}x")
        if ours.get("time_to_target_s") and trl.get("time_to_target_s"):
            print(f"  time to target (TRL / ours):    {trl['time_to_target_s'] / ours['time_to_target_s']:.2f}x")
            print(f"  same, training loop only:       {trl['loop_time_to_target_s'] / ours['loop_time_to_target_s']:.2f}x")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "policy_params": bootstrap.params, "target": target, "results": results}, indent=2))
    print(f"\n-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
