"""Rollouts on vLLM engines (GPU clusters), with the in-place weight update vLLM documents for RL.

Written against vLLM's documented offline API — ``vllm.LLM(..., worker_extension_cls=...)``,
``LLM.generate`` with ``SamplingParams(n=..., seed=...)``, ``LLM.collective_rpc`` to run a
method of the worker extension inside every engine worker, whose
``self.model_runner.model.load_weights(weights=[(name, tensor), ...])`` loads new weights
in place, and ``LLM.reset_prefix_cache()`` so no cached KV computed with the old weights is
reused. UNTESTED HERE: this machine has no GPU and no vLLM; the CPU path
(``training.rl.rollout.RolloutWorker``) is the tested one, and both share ``Rollout``,
``set_weights``/``rollout``/``evaluate`` and the reward functions.

With LoRA, the learner's adapter weights are merged into the base weights here before
loading (vLLM's model has no adapter parameters to load into).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from training.rl.config import RLConfig
from training.rl.rewards import Trajectory, reward_function_create, score_distinct
from training.rl.rollout import Rollout


def vllm_available() -> bool:
    """vLLM importable and a CUDA GPU present."""
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return torch.cuda.is_available()


class WeightUpdateExtension:
    """Mixed into each vLLM worker (``worker_extension_cls``); called via ``collective_rpc``."""

    def load_named_weights(self, weights: dict[str, torch.Tensor]) -> int:
        device = next(self.model_runner.model.parameters()).device  # type: ignore[attr-defined]
        self.model_runner.model.load_weights(weights=[(n, t.to(device)) for n, t in weights.items()])  # type: ignore[attr-defined]
        return len(weights)


class VllmRolloutWorker:
    """Same interface as ``RolloutWorker``; generation by a vLLM engine on this actor's GPU."""

    def __init__(self, config: RLConfig, worker_index: int = 0) -> None:
        from transformers import AutoTokenizer
        from vllm import LLM

        self.config = config
        self.worker_index = worker_index
        self.tokenizer = AutoTokenizer.from_pretrained(config.policy_path, local_files_only=True)
        self.llm = LLM(
            model=config.policy_path,
            tokenizer=config.policy_path,
            dtype="auto",
            seed=config.seed + worker_index,
            gpu_memory_utilization=0.5,
            enable_prefix_caching=True,
            worker_extension_cls=f"{__name__}.WeightUpdateExtension",
        )
        self.base_weights: dict[str, torch.Tensor] | None = None
        self.reward_fn = reward_function_create(config.reward_source, endpoint=config.reward_endpoint, api_key=config.reward_api_key)

    def set_weights(self, weights: dict[str, torch.Tensor]) -> int:
        """Load the learner's weights into every engine worker, then drop stale prefix-cache KV."""
        full = weights if self.config.lora is None else self._merged(weights)
        self.llm.collective_rpc("load_named_weights", args=(full,))
        self.llm.reset_prefix_cache()
        return len(weights)

    def _merged(self, adapter: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """PEFT names ``base_model.model.<m>.lora_A.default.weight`` -> merged ``<m>.weight`` = W + (alpha/r) B A."""
        from safetensors.torch import load_file
        from pathlib import Path

        if self.base_weights is None:
            self.base_weights = {}
            for file in sorted(Path(self.config.policy_path).glob("*.safetensors")):
                self.base_weights.update(load_file(file))
        lora = self.config.lora
        assert lora is not None
        scale = lora.alpha / lora.rank
        merged: dict[str, torch.Tensor] = {}
        for name, a in adapter.items():
            if ".lora_A." not in name:
                continue
            module = name.split(".lora_A.")[0].removeprefix("base_model.model.")
            b = adapter[name.replace(".lora_A.", ".lora_B.")]
            merged[f"{module}.weight"] = self.base_weights[f"{module}.weight"] + scale * (b.float() @ a.float()).to(
                self.base_weights[f"{module}.weight"].dtype
            )
        return merged

    def rollout(self, task_ids: Sequence[str], *, group_size: int, seed: int) -> list[list[Rollout]]:
        from vllm import SamplingParams

        from training.environment import task_get
        from training.policy import chat_prompt, task_messages

        tasks = [task_get(tid) for tid in task_ids]
        prompts = [chat_prompt(self.tokenizer, task_messages(task)) for task in tasks]
        params = SamplingParams(n=group_size, temperature=self.config.temperature, top_p=self.config.top_p,
                                max_tokens=self.config.max_new_tokens, seed=seed)
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        groups: list[list[Rollout]] = []
        for task, prompt, output in zip(tasks, prompts, outputs):
            completions = output.outputs
            scores = score_distinct(self.reward_fn, [Trajectory(prompt=task.prompt, response=c.text, task=task.task_id) for c in completions])
            groups.append([
                Rollout(
                    task_id=task.task_id, prompt=prompt, prompt_ids=tuple(output.prompt_token_ids),
                    response_ids=tuple(c.token_ids), text=c.text, truncated=c.finish_reason == "length",
                    reward=s.reward, components=dict(s.components), flags=s.flags, reward_model_version=s.reward_model_version,
                )
                for c, s in zip(completions, scores)
            ])
        return groups

    def evaluate(self, task_ids: Sequence[str]) -> list[bool]:
        from vllm import SamplingParams

        from training.environment import task_get, verify
        from training.policy import chat_prompt, task_messages

        tasks = [task_get(tid) for tid in task_ids]
        prompts = [chat_prompt(self.tokenizer, task_messages(task)) for task in tasks]
        params = SamplingParams(n=self.config.eval_samples, temperature=self.config.eval_answer_temperature,
                                seed=self.config.seed, max_tokens=self.config.max_new_tokens)
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [bool(verify(task, answer.text).success) for task, o in zip(tasks, outputs) for answer in o.outputs]
