"""The learner (a Ray actor): owns the trainable policy, the optimizer and the checkpoints.

``train_step`` turns a batch of scored, advantage-weighted responses into one or more
optimizer updates with the GRPO/DAPO loss; ``weights`` hands the trainable parameters to
the rollout workers through the object store.
"""
from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from training.policy.generate import distinct_rows, left_pad
from training.policy.model import shared_prompt_answer_logits
from training.rl import algorithms
from training.rl.checkpoint import OPTIMIZER_FILE, STATE_FILE, checkpoint_write_atomic
from training.rl.config import RLConfig
from training.rl.model import rl_model_build, trainable_weights, trainable_weights_load


@dataclass(frozen=True)
class TrainSample:
    """One response in a training batch."""

    prompt_ids: tuple[int, ...]
    response_ids: tuple[int, ...]
    advantage: float


class Learner:
    """Policy + AdamW + reference policy (only when ``kl_coef > 0``). Wrapped by ``ray.remote``."""

    def __init__(self, config: RLConfig, resume_from: str | None = None) -> None:
        torch.set_num_threads(config.threads)
        self.config = config
        self.device = torch.device(config.device)
        self.model, self.tokenizer = rl_model_build(config.policy_path, lora=config.lora, seed=config.seed, device=config.device)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay, betas=(0.9, 0.99))
        self.reference = None
        if config.kl_coef > 0 and config.lora is None:
            self.reference = copy.deepcopy(self.model).eval().requires_grad_(False)
        if resume_from is not None:
            self._resume(Path(resume_from))
        self.model.train()

    def weights(self) -> dict[str, torch.Tensor]:
        """Trainable parameters for the rollout workers (CPU tensors)."""
        return trainable_weights(self.model)

    def train_step(self, batch: Sequence[TrainSample]) -> dict[str, float]:
        """``updates_per_batch`` optimizer updates on ``batch``; returns the step's metrics."""
        config = self.config
        tensors = batch_tensors(batch, pad_id=self.tokenizer.pad_token_id, device=self.device)
        advantages = torch.tensor([s.advantage for s in batch], dtype=torch.float32, device=self.device)
        ref_log_probs = None
        if config.kl_coef > 0:
            with torch.no_grad():
                ref_log_probs = self._reference_log_probs(tensors)
        old_log_probs: torch.Tensor | None = None
        totals: dict[str, float] = {}
        for _ in range(config.updates_per_batch):
            logits = self._response_logits(self.model, tensors)
            log_probs = algorithms.token_log_probs(logits, tensors.response_tokens)
            if old_log_probs is None:  # the first update's weights are the ones the batch is judged against:
                old_log_probs = log_probs.detach()  # no separate no-grad pass (a third of a step's time)
            loss, stats = algorithms.policy_loss(
                log_probs, old_log_probs, advantages, tensors.mask,
                clip_low=config.clip_ratio_low, clip_high=config.clip_ratio_high,
                aggregation=config.loss_aggregation, ref_log_probs=ref_log_probs, kl_coef=config.kl_coef,
            )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(
                [p for p in self.model.parameters() if p.requires_grad], config.grad_clip
            )
            self.optimizer.step()
            with torch.no_grad():  # a statistic: no graph through a second softmax
                stats["entropy"] = algorithms.aggregate(algorithms.token_entropy(logits), tensors.mask, how="token_mean")
            stats["grad/norm"] = grad_norm.detach()
            for key, value in stats.items():
                totals[key] = totals.get(key, 0.0) + float(value) / config.updates_per_batch
        return totals

    def _response_logits(self, model: torch.nn.Module, tensors: BatchTensors) -> torch.Tensor:
        """-> logits predicting each response token [B, R, V], divided by the sampling temperature:
        the ratio compares the learner with the distribution the rollouts were drawn from."""
        return shared_prompt_answer_logits(
            model, tensors.prompt_ids, tensors.prompt_mask, tensors.prompt_of_row, tensors.response_tokens,
            tensors.mask.long(),
        ) / self.config.temperature

    def _reference_log_probs(self, tensors: BatchTensors) -> torch.Tensor:
        if self.reference is not None:
            logits = self._response_logits(self.reference, tensors)
        else:
            with self.model.disable_adapter():  # LoRA: the base weights are the reference
                logits = self._response_logits(self.model, tensors)
        return algorithms.token_log_probs(logits, tensors.response_tokens)

    def save_checkpoint(self, directory: str, *, metadata: dict[str, Any], state: dict[str, Any]) -> str:
        """Atomically write an HF checkpoint (adapter only with LoRA) + resume state to ``directory``."""
        from training.policy.model import METADATA_FILE, _portable_tokenizer_class

        def write(tmp: Path) -> None:
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.tokenizer.save_pretrained(tmp)
            _portable_tokenizer_class(tmp)
            (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
            torch.save(self.optimizer.state_dict(), tmp / OPTIMIZER_FILE)
            (tmp / STATE_FILE).write_text(json.dumps(state) + "\n")

        return str(checkpoint_write_atomic(Path(directory), write))

    def _resume(self, path: Path) -> None:
        """Load the trainable weights and optimizer state of a checkpoint written by ``save_checkpoint``."""
        from safetensors.torch import load_file

        if self.config.lora is not None:
            from peft import set_peft_model_state_dict

            set_peft_model_state_dict(self.model, load_file(path / "adapter_model.safetensors"))
        else:
            saved = load_file(path / "model.safetensors")
            params = dict(self.model.named_parameters())
            trainable_weights_load(self.model, {name: saved[name] for name in params if name in saved})
        self.optimizer.load_state_dict(torch.load(path / OPTIMIZER_FILE, map_location=self.device))


@dataclass(frozen=True)
class BatchTensors:
    """A training batch as tensors: each distinct prompt once, the responses per row."""

    prompt_ids: torch.Tensor
    """[P, Lp] the distinct prompts, left-padded."""
    prompt_mask: torch.Tensor
    """[P, Lp] 1 on prompt tokens, 0 on padding."""
    prompt_of_row: torch.Tensor
    """[B] the row of ``prompt_ids`` each response answers."""
    response_tokens: torch.Tensor
    """[B, R] the responses, right-padded."""
    mask: torch.Tensor
    """[B, R] float: 1.0 on response tokens, 0.0 on padding."""


def batch_tensors(batch: Sequence[TrainSample], *, pad_id: int, device: torch.device) -> BatchTensors:
    """Samples -> ``BatchTensors``: a GRPO group's responses share one prompt row."""
    if not batch:
        raise ValueError("empty training batch")
    prompts, prompt_of_row = distinct_rows([s.prompt_ids for s in batch])
    prompt_ids, prompt_mask = left_pad(prompts, pad_id=pad_id)
    response_width = max(1, max(len(s.response_ids) for s in batch))
    response_tokens = torch.full((len(batch), response_width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), response_width), dtype=torch.float32)
    for row, sample in enumerate(batch):
        if sample.response_ids:
            response_tokens[row, : len(sample.response_ids)] = torch.tensor(sample.response_ids)
            mask[row, : len(sample.response_ids)] = 1.0
    return BatchTensors(*(t.to(device) for t in (prompt_ids, prompt_mask, prompt_of_row, response_tokens, mask)))
