"""The RL driver: GRPO/DAPO on Ray, reading top to bottom.

    tasks -> curriculum -> [rollout workers: sample groups, score] -> overlong penalty ->
    dynamic sampling -> advantages -> [learner: clipped token-level update] ->
    weights to rollout workers (object store) -> metrics report -> atomic checkpoint

With ``rollout_ahead`` the next step's rollouts are sampled while the learner updates, so
both sides of a 2-core machine (or of a GPU and the CPU) stay busy.

Entry points: ``rl_train(config, reporter=...)`` (in-process, local Ray started when none
is running) and ``python -m training.rl.driver --config FILE`` (the Ray Jobs entrypoint;
inside a job ``ray.init()`` joins the job's cluster). A rerun with the same ``output_dir``
resumes from its last complete checkpoint.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from training.environment.variants import VARIANT_KINDS, base_task_id, variant_id
from training.rl import algorithms
from training.rl.checkpoint import checkpoint_latest, checkpoint_name, checkpoint_prune, checkpoint_state
from training.rl.config import RLConfig, RLConfigError, rl_config_from_dict, rl_config_load, rl_config_to_dict
from training.rl.curriculum import CurriculumTask, TaskCurriculum
from training.rl.learner import Learner, TrainSample
from training.rl.reporting import HttpReporter, Reporter, RunReport
from training.rl.rollout import Rollout, RolloutWorker

logger = logging.getLogger("flywheel.rl")
# Variant numbers drawn per terminal task: enough that a run almost never repeats one.
VARIANTS_PER_TASK = 1_000_000


class RLStopped(RuntimeError):
    """Flywheel asked the job to stop (the last complete checkpoint stays on disk)."""


@dataclass(frozen=True)
class RLResult:
    """What a finished run produced."""

    checkpoint_dir: str
    """The last checkpoint (HF format; adapter only with LoRA)."""
    steps: int
    """Optimizer steps done in total (resumed steps included)."""
    resumed_from_step: int
    """0 for a fresh run."""
    metrics: dict[str, float]
    """The last step's metrics."""
    history: list[dict[str, float]] = field(default_factory=list)
    """Every step's metrics, in order (``step`` included)."""
    heldout_success_before: float | None = None
    """Success on ``eval_tasks`` held-out tasks before training: the share of their answers
    (greedy, or ``eval_samples`` each) that the verifier accepts (None when eval_tasks == 0)."""
    heldout_success_after: float | None = None
    wall_time_s: float = 0.0


def rl_train(config: RLConfig, *, reporter: Reporter | None = None) -> RLResult:
    """Run (or resume) the GRPO/DAPO job described by ``config``; see the module docstring."""
    import ray

    started = time.monotonic()
    log = _LogBuffer()
    output_dir = Path(config.output_dir)
    checkpoints_dir = output_dir / "checkpoints"
    _ray_init()

    # --- state: fresh, or from the last complete checkpoint -------------------------------
    resume_path = checkpoint_latest(checkpoints_dir)
    state = checkpoint_state(resume_path) if resume_path is not None else {}
    start_step = int(state.get("step", 0))
    history: list[dict[str, float]] = list(state.get("history", []))
    rng = random.Random(config.seed)
    if "rng" in state:
        rng.setstate(_tuples(state["rng"]))
    curriculum = curriculum_create(config)
    curriculum.restore(state.get("curriculum", {}))
    if resume_path is not None:
        log.line(f"resumed from {resume_path.name} (step {start_step}/{config.steps})")

    # --- actors: one learner, N rollout workers; workers start from the learner's weights --
    learner_gpus, worker_gpus = actor_gpu_shares(config)
    if learner_gpus and ray.cluster_resources().get("GPU", 0) < 1:
        raise RuntimeError(f"device is {config.device!r} but the Ray cluster has no GPU: set device to 'cpu', "
                           "or start Ray where CUDA is visible")
    actors: list[Any] = []
    try:
        learner = ray.remote(Learner).options(num_cpus=0.5, num_gpus=learner_gpus).remote(
            config, str(resume_path) if resume_path else None
        )
        worker_class = rollout_worker_class(config)
        workers = [
            ray.remote(worker_class).options(num_cpus=0.5, num_gpus=worker_gpus).remote(config, i)
            for i in range(config.rollout_workers)
        ]
        actors += [learner, *workers]
        weights_sync(learner, workers)
        sample_round = ray_sample_round(config, workers)

        heldout_ids = heldout_task_ids(config)
        heldout_before = state.get("heldout_before")
        if heldout_ids and heldout_before is None:
            heldout_before = _mean(ray.get(workers[0].evaluate.remote(heldout_ids)))
            log.line(f"held-out success before training: {heldout_before:.3f} on {len(heldout_ids)} tasks")
        metrics: dict[str, float] = history[-1] if history else {}
        # a resumed run re-sends its checkpoint's step: a crash between that checkpoint and its report loses it otherwise
        _report(reporter, RunReport(step=start_step, total_steps=config.steps, metrics=metrics, logs=log.drain()))

        checkpoint_dir = str(resume_path) if resume_path else ""
        ahead: tuple[list[list[Rollout]], list[Rollout], int] | None = None  # sampled during the last update
        for step in range(start_step, config.steps):
            step_started = time.monotonic()
            # 1. rollouts, with dynamic sampling until the batch is full (or the round cap)
            groups, sampled, rounds = ahead or collect_groups(config, curriculum, sample_round, rng=rng, step=step)
            ahead = None
            if not curriculum.active() and not groups:
                log.line(f"step {step + 1}: every task is retired by the curriculum; stopping early")
                break
            # 2. the learner's update on the kept groups (and, with rollout_ahead, the next batch meanwhile)
            train_metrics: dict[str, float] = {}
            if groups:
                update = learner.train_step.remote(training_batch(groups))
                if sample_ahead(config, step):
                    ahead = collect_groups(config, curriculum, sample_round, rng=rng, step=step + 1)
                train_metrics = ray.get(update)
                weights_sync(learner, workers)
            # 3. metrics, report, checkpoint
            metrics = step_metrics(sampled, kept_groups=len(groups), rounds=rounds, train=train_metrics, curriculum=curriculum)
            metrics["step"] = step + 1
            metrics["time/step_s"] = time.monotonic() - step_started
            history.append(metrics)
            log.line(
                f"step {step + 1}/{config.steps} reward/mean={metrics['reward/mean']:.3f} "
                f"kept={len(groups)} loss/policy={metrics.get('loss/policy', 0.0):.4f}"
            )
            written = None
            if (step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps:
                written = checkpoint_save(config, learner, step=step + 1, rng=rng, curriculum=curriculum,
                                          history=history, heldout_before=heldout_before)
                checkpoint_dir = written
                checkpoint_prune(checkpoints_dir, keep=config.keep_checkpoints)
            keep_going = _report(reporter, RunReport(step=step + 1, total_steps=config.steps, metrics=metrics,
                                                     logs=log.drain(), checkpoint=written))
            if not keep_going:
                raise RLStopped(f"stop requested at step {step + 1}")

        if not checkpoint_dir or Path(checkpoint_dir).name != checkpoint_name(len(history)):
            checkpoint_dir = checkpoint_save(config, learner, step=len(history), rng=rng, curriculum=curriculum,
                                             history=history, heldout_before=heldout_before)
        heldout_after = _mean(ray.get(workers[0].evaluate.remote(heldout_ids))) if heldout_ids else None
        if heldout_after is not None:
            log.line(f"held-out success after training: {heldout_after:.3f} on {len(heldout_ids)} tasks")
        _report(reporter, RunReport(step=len(history), total_steps=config.steps, logs=log.drain(), checkpoint=checkpoint_dir))
        return RLResult(
            checkpoint_dir=checkpoint_dir,
            steps=len(history),
            resumed_from_step=start_step,
            metrics=metrics,
            history=history,
            heldout_success_before=heldout_before,
            heldout_success_after=heldout_after,
            wall_time_s=time.monotonic() - started,
        )
    finally:
        for actor in actors:  # a failed or stopped run must not keep its CPUs reserved
            ray.kill(actor)


def curriculum_create(config: RLConfig) -> TaskCurriculum:
    """The task pool of ``config`` (split, kinds, ids, prefixes) under the curriculum's rules."""
    from training.environment import task_catalog

    tasks = [
        CurriculumTask(task_id=t.task_id, kind=t.kind)
        for t in task_catalog(split=config.task_split)
        if t.kind in config.task_kinds
        and (not config.task_ids or t.task_id in config.task_ids)
        and (not config.task_id_prefixes or t.task_id.startswith(tuple(config.task_id_prefixes)))
    ]
    if not tasks:
        raise RLConfigError("task_ids", "no environment task matches task_split, task_kinds, task_ids and task_id_prefixes")
    return TaskCurriculum(
        tasks,
        window=config.curriculum_window,
        min_samples=min(config.curriculum_min_samples, config.curriculum_window),
        solved_rate=config.curriculum_solved_rate,
        unsolved_rate=config.curriculum_unsolved_rate,
        kind_weights=dict(config.task_mix),
    )


def heldout_task_ids(config: RLConfig) -> list[str]:
    """The first ``eval_tasks`` eval-split tasks of the config's kinds (and id prefixes)."""
    if config.eval_tasks <= 0:
        return []
    from training.environment import task_catalog

    return [
        t.task_id
        for t in task_catalog(split="eval")
        if t.kind in config.task_kinds
        and (not config.task_id_prefixes or t.task_id.startswith(tuple(config.task_id_prefixes)))
    ][: config.eval_tasks]


def sample_ahead(config: RLConfig, step: int) -> bool:
    """Sample step+1's batch during step's update? Not after the last step, and not when step
    ends with a checkpoint: that batch is then drawn from the checkpoint's weights and rng,
    as a run resumed from that checkpoint draws it, so a resume replays the same steps."""
    checkpoint_follows = (step + 1) % config.checkpoint_every == 0
    return config.rollout_ahead and step + 1 < config.steps and not checkpoint_follows


def actor_gpu_shares(config: RLConfig) -> tuple[float, float]:
    """(learner, each rollout worker) GPU fractions for Ray: on CUDA the learner takes half of
    one GPU and the rollout workers share the other half; none on CPU."""
    if not config.device.startswith("cuda"):
        return 0.0, 0.0
    return 0.5, 0.5 / config.rollout_workers


def rollout_worker_class(config: RLConfig) -> type:
    """HF generate on CPU; vLLM engines when asked for, or on "auto" with vLLM and a GPU present."""
    if config.rollout_engine == "hf":
        return RolloutWorker
    from training.rl.rollout_vllm import VllmRolloutWorker, vllm_available

    if config.rollout_engine == "vllm" or vllm_available():
        return VllmRolloutWorker
    return RolloutWorker


def weights_sync(learner: Any, workers: Sequence[Any]) -> None:
    """Learner -> every rollout worker through the Ray object store (one ``put``, no disk)."""
    import ray

    weights_ref = learner.weights.remote()
    ray.get([worker.set_weights.remote(weights_ref) for worker in workers])


def collect_groups(
    config: RLConfig, curriculum: TaskCurriculum, sample_round: Callable[[list[str], int], list[list[Rollout]]],
    *, rng: random.Random, step: int,
) -> tuple[list[list[Rollout]], list[Rollout], int]:
    """Sample rounds of groups until ``prompts_per_step`` groups with reward variance are kept.

    ``sample_round(task_ids, seed)`` returns one scored group per task id. Returns (kept
    groups, every sampled rollout, rounds used). Without dynamic sampling one round is
    drawn and every group is kept. Rewards include the overlong penalty from here on.
    """
    kept: list[list[Rollout]] = []
    sampled: list[Rollout] = []
    rounds = 0
    while len(kept) < config.prompts_per_step and rounds < config.max_sampling_rounds:
        task_ids = curriculum.sample(config.prompts_per_step - len(kept), rng)
        if not task_ids:
            break
        if config.task_variants:
            task_ids = [rollout_task_id(curriculum, task_id, rng) for task_id in task_ids]
        seed = config.seed * 1_000_003 + step * 1009 + rounds * 101
        groups = [with_overlong_penalty(config, g) for g in sample_round(task_ids, seed)]
        rounds += 1
        for group in groups:
            sampled += group
            curriculum.record(base_task_id(group[0].task_id), [solved(config, r) for r in group])
        rewards = torch.tensor([[r.reward for r in g] for g in groups])
        keep = algorithms.groups_with_signal(rewards) if config.dynamic_sampling else torch.ones(len(groups), dtype=torch.bool)
        kept += [g for g, k in zip(groups, keep.tolist()) if k]
        if not config.dynamic_sampling:
            break
    return kept[: config.prompts_per_step], sampled, rounds


def rollout_task_id(curriculum: TaskCurriculum, task_id: str, rng: random.Random) -> str:
    """A fresh variant of a terminal or multi-step task, its arguments or directory renamed (the
    curriculum still judges the base task); a code-edit task as it is."""
    if curriculum.tasks[task_id].kind not in VARIANT_KINDS:
        return task_id
    return variant_id(task_id, rng.randrange(VARIANTS_PER_TASK))


def ray_sample_round(config: RLConfig, workers: Sequence[Any]) -> Callable[[list[str], int], list[list[Rollout]]]:
    """``sample_round`` over Ray rollout workers: task ids split round-robin, one call each, in parallel."""
    import ray

    def sample_round(task_ids: list[str], seed: int) -> list[list[Rollout]]:
        shares = [task_ids[i :: len(workers)] for i in range(len(workers))]
        futures = [
            worker.rollout.remote(ids, group_size=config.group_size, seed=seed + i)
            for i, (worker, ids) in enumerate(zip(workers, shares)) if ids
        ]
        return [group for result in ray.get(futures) for group in result]

    return sample_round


def with_overlong_penalty(config: RLConfig, group: list[Rollout]) -> list[Rollout]:
    """Add DAPO's soft overlong penalty to each reward (recorded as the "overlong_buffer" component)."""
    from dataclasses import replace

    lengths = torch.tensor([len(r.response_ids) for r in group])
    penalties = algorithms.overlong_penalty(
        lengths, max_length=config.max_new_tokens, buffer=config.overlong_buffer, factor=config.overlong_penalty_factor
    ).tolist()
    return [replace(r, reward=r.reward + p, components={**r.components, "overlong_buffer": p}) for r, p in zip(group, penalties)]


def solved(config: RLConfig, rollout: Rollout) -> bool:
    """Did this rollout solve its task (the ``success_key`` component > 0.5)?"""
    return rollout.components.get(config.success_key, 0.0) > 0.5


def training_batch(groups: Sequence[Sequence[Rollout]]) -> list[TrainSample]:
    """Kept groups -> learner samples, each with its group-relative advantage."""
    rewards = torch.tensor([[r.reward for r in g] for g in groups])  # [G, N]
    advantages = algorithms.group_advantages(rewards)
    return [
        TrainSample(prompt_ids=r.prompt_ids, response_ids=r.response_ids, advantage=float(a))
        for g, row in zip(groups, advantages) for r, a in zip(g, row.tolist())
    ]


def step_metrics(
    sampled: Sequence[Rollout], *, kept_groups: int, rounds: int, train: dict[str, float], curriculum: TaskCurriculum
) -> dict[str, float]:
    """Namespaced metrics of one step: rewards over every sampled rollout, the learner's stats."""
    metrics: dict[str, float] = {
        "reward/mean": _mean([r.reward for r in sampled]),
        "tokens/response_mean": _mean([len(r.response_ids) for r in sampled]),
        "sampling/kept_groups": float(kept_groups),
        "sampling/rounds": float(rounds),
        "sampling/responses": float(len(sampled)),
        "sampling/truncated_fraction": _mean([float(r.truncated) for r in sampled]),
        "curriculum/active_tasks": float(len(curriculum.active())),
        "curriculum/retired_tasks": float(len(curriculum.retired)),
    }
    for name in sorted({name for r in sampled for name in r.components}):
        metrics[f"reward/{name}/mean"] = _mean([r.components.get(name, 0.0) for r in sampled])
    for kind, rollouts in rollouts_by_kind(sampled, curriculum).items():
        metrics[f"reward/kind/{kind}/mean"] = _mean([r.reward for r in rollouts])
    metrics.update(train)
    return metrics


def rollouts_by_kind(sampled: Sequence[Rollout], curriculum: TaskCurriculum) -> dict[str, list[Rollout]]:
    """{task kind: its rollouts}, kinds sorted: a mixed run shows which kind its reward moves on.
    The curriculum knows each task's kind; a variant counts as its task's."""
    by_kind: dict[str, list[Rollout]] = {}
    for rollout in sampled:
        by_kind.setdefault(curriculum.tasks[base_task_id(rollout.task_id)].kind, []).append(rollout)
    return dict(sorted(by_kind.items()))


def checkpoint_save(
    config: RLConfig, learner: Any, *, step: int, rng: random.Random, curriculum: TaskCurriculum,
    history: list[dict[str, float]], heldout_before: float | None,
) -> str:
    """The learner writes the checkpoint of ``step`` atomically; returns its directory."""
    import ray

    from training.policy.model import policy_metadata

    parent = policy_metadata(config.policy_path)
    metadata = {
        "version": f"{config.version}-step-{step}",
        "parent": parent.get("version", config.policy_path),
        "parent_path": config.policy_path,
        "algorithm": "grpo-dapo",
        "lora": config.lora is not None,
        "step": step,
        "metrics": history[-1] if history else {},
        "config": rl_config_to_dict(config),
        "created_at": datetime.now(timezone.utc).isoformat(),
    }
    state = {"step": step, "rng": rng.getstate(), "curriculum": curriculum.state(), "history": history,
             "heldout_before": heldout_before}
    directory = Path(config.output_dir) / "checkpoints" / checkpoint_name(step)
    return ray.get(learner.save_checkpoint.remote(str(directory), metadata=metadata, state=state))


def _ray_init() -> None:
    """Join the job's cluster (RAY_ADDRESS, set inside Ray jobs) or start local Ray in-process."""
    import os

    import ray

    if ray.is_initialized():
        return
    if os.environ.get("RAY_ADDRESS"):
        ray.init(log_to_driver=True)
    else:
        # Local workers must import this package as the driver does.
        repo = str(Path(__file__).resolve().parents[2])
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        os.environ["PYTHONPATH"] = os.pathsep.join([repo, *[p for p in paths if p != repo]])
        # Ray enables faulthandler on sys.stderr, which a Celery worker replaces by a proxy with no fileno.
        redirected = not hasattr(sys.stderr, "fileno") or _no_fileno(sys.stderr)
        saved, sys.stderr = sys.stderr, (sys.__stderr__ if redirected else sys.stderr)
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        finally:
            sys.stderr = saved


def _no_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return True
    return False


def _report(reporter: Reporter | None, report: RunReport) -> bool:
    for line in report.logs:
        print(line, flush=True)
    return True if reporter is None else reporter.report(report)


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def _tuples(value: Any) -> Any:
    """JSON lists back into the tuples ``random.Random.setstate`` expects."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


class _LogBuffer:
    """Log lines since the last report (they travel with the report: the run's logs tail)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        stamped = f"{datetime.now(timezone.utc).strftime('%H:%M:%S')} {text}"
        logger.info(text)
        self.lines.append(stamped)

    def drain(self) -> tuple[str, ...]:
        lines, self.lines = tuple(self.lines), []
        return lines


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m training.rl.driver --config FILE | --config-json JSON [--report-url URL --run-id ID]``."""
    parser = argparse.ArgumentParser(description="GRPO/DAPO RL job (the Ray Jobs entrypoint).")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="JSON config file (fields of training.rl.config.RLConfig)")
    source.add_argument("--config-json", help="the same, inline")
    parser.add_argument("--report-url", default="", help="Flywheel base URL to report progress to")
    parser.add_argument("--run-id", default="", help="Flywheel run id (with --report-url)")
    parser.add_argument("--result-file", default="", help="write the result as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        config = rl_config_load(args.config) if args.config else rl_config_from_dict(json.loads(args.config_json))
    except (RLConfigError, json.JSONDecodeError) as error:
        print(f"invalid config: {error}", file=sys.stderr, flush=True)
        return 2
    reporter = HttpReporter(args.report_url, args.run_id) if args.report_url and args.run_id else None
    try:
        result = rl_train(config, reporter=reporter)
    except RLStopped as stopped:
        print(f"stopped: {stopped}", flush=True)
        return 3
    summary = {
        "checkpoint_dir": result.checkpoint_dir, "steps": result.steps, "resumed_from_step": result.resumed_from_step,
        "metrics": result.metrics, "heldout_success_before": result.heldout_success_before,
        "heldout_success_after": result.heldout_success_after, "wall_time_s": round(result.wall_time_s, 1),
    }
    print("RESULT " + json.dumps(summary), flush=True)
    if args.result_file:
        Path(args.result_file).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
