"""The rollout worker (a Ray actor): sample groups of responses with HF generate and score them.

It holds its own copy of the policy; the learner's trainable weights arrive every step
through the Ray object store (``set_weights``), never through disk.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from training.rl.config import RLConfig
from training.rl.model import rl_model_build, trainable_weights_load
from training.rl.rewards import Trajectory, reward_function_create, score_distinct


@dataclass(frozen=True)
class Rollout:
    """One sampled response to one task, scored."""

    task_id: str
    prompt: str
    prompt_ids: tuple[int, ...]
    response_ids: tuple[int, ...]
    """Tokens the learner trains on: generated ids, plus eos when the model stopped by itself."""
    text: str
    truncated: bool
    """True when generation hit ``max_new_tokens`` (finish_reason "length")."""
    reward: float
    """The reward function's reward (before the overlong penalty)."""
    components: dict[str, float] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    reward_model_version: str | None = None


class RolloutWorker:
    """Samples ``group_size`` responses per task and scores them. Wrapped by ``ray.remote``."""

    def __init__(self, config: RLConfig, worker_index: int = 0) -> None:
        torch.set_num_threads(config.threads)
        self.config = config
        self.worker_index = worker_index
        self.model, self.tokenizer = rl_model_build(
            config.policy_path, lora=config.lora, seed=config.seed, device=config.device
        )
        self.model.eval()
        self.reward_fn = reward_function_create(
            config.reward_source, endpoint=config.reward_endpoint, api_key=config.reward_api_key
        )

    def set_weights(self, weights: dict[str, torch.Tensor]) -> int:
        """Load the learner's trainable weights; returns how many tensors were loaded."""
        trainable_weights_load(self.model, weights)
        return len(weights)

    def rollout(self, task_ids: Sequence[str], *, group_size: int, seed: int) -> list[list[Rollout]]:
        """One group of ``group_size`` scored responses per task id, in order."""
        from training.environment import task_get
        from training.policy import chat_prompt, policy_generate, task_messages

        if not task_ids:
            return []
        tasks = [task_get(tid) for tid in task_ids]
        prompts = [chat_prompt(self.tokenizer, task_messages(task)) for task in tasks]
        repeated = [prompt for prompt in prompts for _ in range(group_size)]
        generations = policy_generate(
            self.model,
            self.tokenizer,
            repeated,
            max_new_tokens=self.config.max_new_tokens,
            temperature=self.config.temperature,
            top_p=self.config.top_p,
            seed=seed,
        )
        trajectories = [
            Trajectory(prompt=task.prompt, response=g.text, task=task.task_id)
            for task, g in zip((t for t in tasks for _ in range(group_size)), generations)
        ]
        scores = score_distinct(self.reward_fn, trajectories)
        eos = self.tokenizer.eos_token_id
        prompt_ids = {p: tuple(self.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts}
        rollouts = [
            Rollout(
                task_id=trajectory.task,
                prompt=prompt,
                prompt_ids=prompt_ids[prompt],
                response_ids=tuple(g.token_ids) + ((eos,) if g.finish_reason == "stop" and g.stop_reason is None else ()),
                text=g.text,
                truncated=g.finish_reason == "length",
                reward=score.reward,
                components=dict(score.components),
                flags=score.flags,
                reward_model_version=score.reward_model_version,
            )
            for prompt, g, trajectory, score in zip(repeated, generations, trajectories, scores)
        ]
        return [rollouts[i : i + group_size] for i in range(0, len(rollouts), group_size)]

    def evaluate(self, task_ids: Sequence[str]) -> list[bool]:
        """The environment verifier's verdict on each answer to the tasks (held-out measurement):
        the greedy answer per task, or ``eval_samples`` answers sampled at ``eval_temperature``."""
        from training.environment import task_get, verify
        from training.policy import policy_respond

        tasks = [task_get(tid) for tid in task_ids] * self.config.eval_samples
        generations = policy_respond(self.model, self.tokenizer, tasks, max_new_tokens=self.config.max_new_tokens,
                                     temperature=self.config.eval_answer_temperature, seed=self.config.seed)
        return [bool(verify(task, g.text).success) for task, g in zip(tasks, generations)]
