"""Bootstrap the base policy v0: a short supervised run on the imperfect corpus.

Reads top to bottom: corpus -> tokenizer -> model -> SFT loop -> checkpoint + metadata.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from training.environment.variants import NameDrawer, made_up_name
from training.policy.config import BootstrapConfig
from training.policy.corpus import SFTExample, corpus_flavor_counts, corpus_from_environment, vocabulary_name
from training.policy.model import logits_at, policy_model_create, policy_param_count, policy_save
from training.policy.tokenizer import chat_prompt, tokenizer_train, tokenizer_words

IGNORE_INDEX = -100


@dataclass(frozen=True)
class BootstrapResult:
    """What a bootstrap run produced."""

    path: Path
    """Checkpoint directory."""
    params: int
    """Unique model parameters."""
    final_loss: float
    """Mean SFT loss over the last 10% of steps (at least 1)."""
    wall_time_s: float
    """Seconds from start to saved checkpoint."""
    examples: int
    """Corpus examples trained on (after the length filter)."""


def policy_bootstrap(
    config: BootstrapConfig,
    *,
    examples: Sequence[SFTExample] | None = None,
    progress: bool = True,
) -> BootstrapResult:
    """Train the base policy described by ``config`` and save it to ``config.output_dir``.

    ``examples`` overrides the corpus (tests pass a fixture); by default it is built from the
    environment's train split with ``config.mix``.
    """
    started = time.monotonic()
    torch.set_num_threads(config.threads)
    if examples is None:
        examples = bootstrap_corpus(config)

    tokenizer = tokenizer_train(corpus_texts(examples), vocab_size=config.architecture.vocab_size)
    sequences = [encode_example(tokenizer, example, prompt_loss=config.prompt_loss) for example in examples]
    sequences = [seq for seq in sequences if len(seq[0]) <= config.max_seq_len]
    if not sequences:
        raise ValueError("no corpus example fits in max_seq_len")

    model = policy_model_create(architecture=config.architecture, tokenizer=tokenizer, seed=config.seed)
    model.to(config.device).train()
    optimizer = adamw_create(model, learning_rate=config.learning_rate, weight_decay=config.weight_decay)
    batches = batch_stream(sequences, batch_size=config.batch_size, pad_id=tokenizer.pad_token_id, seed=config.seed)

    losses: list[float] = []
    bar = tqdm(range(config.steps), desc=f"bootstrap {config.version}", disable=not progress, unit="step")
    for step in bar:
        learning_rate = get_lr(step, config)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate
        input_ids, attention_mask, labels = (t.to(config.device) for t in next(batches))
        positions, targets = answer_targets(labels)
        loss = sft_loss(logits_at(model, input_ids, attention_mask, positions), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        bar.set_postfix({"loss/sft": f"{losses[-1]:.3f}", "lr": f"{learning_rate:.1e}"})

    model.eval()
    tail = max(1, config.steps // 10)
    final_loss = sum(losses[-tail:]) / len(losses[-tail:])
    params = policy_param_count(model)
    wall_time_s = time.monotonic() - started
    metadata = {
        "version": config.version,
        "parent": None,
        "seed": config.seed,
        "steps": config.steps,
        "final_loss": round(final_loss, 6),
        "params": params,
        "corpus": {
            "examples": len(sequences),
            "flavor_counts": corpus_flavor_counts(examples),
            "mix": {"windows_linux_biased": config.mix.windows_linux_biased, "general": dict(config.mix.general)},
            "samples_per_task": config.samples_per_task,
            "rename_share": config.rename_share,
        },
        "config": config.to_dict(),
        "wall_time_s": round(wall_time_s, 1),
        "created_at": datetime.now(timezone.utc).isoformat(),
    }
    path = policy_save(model, tokenizer, config.output_dir, metadata=metadata)
    return BootstrapResult(
        path=path, params=params, final_loss=final_loss, wall_time_s=time.monotonic() - started, examples=len(sequences)
    )


def bootstrap_corpus(config: BootstrapConfig) -> list[SFTExample]:
    """The corpus from the environment's train split, its arguments renamed as ``config.rename_words`` says.

    Vocabulary names come from a first tokenizer, trained on the corpus renamed with
    syllables: its words are what the policy will read, so copying them is what v0 must learn.
    """
    def build(fresh_name: NameDrawer = made_up_name) -> list[SFTExample]:
        return corpus_from_environment(
            mix=config.mix, samples_per_task=config.samples_per_task, seed=config.seed,
            rename_share=config.rename_share, fresh_name=fresh_name,
        )

    if config.rename_words == "syllables":
        return build()
    words = tokenizer_words(tokenizer_train(corpus_texts(build()), vocab_size=config.architecture.vocab_size))
    return build(lambda rng: vocabulary_name(words, rng, max_pieces=config.rename_max_words))


def corpus_texts(examples: Sequence[SFTExample]) -> list[str]:
    """Raw strings the tokenizer is trained on: every message and response."""
    return [m["content"] for ex in examples for m in ex.messages] + [ex.response for ex in examples]


def encode_example(
    tokenizer: PreTrainedTokenizerBase, example: SFTExample, *, prompt_loss: bool = False
) -> tuple[list[int], list[int]]:
    """Example -> (input_ids [T], labels [T]); labels are IGNORE_INDEX on the prompt, or with
    ``prompt_loss`` on its first token only (nothing predicts it).

    The target is the response followed by eos, so the policy learns to stop.
    """
    prompt_ids = tokenizer(chat_prompt(tokenizer, list(example.messages)), add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(example.response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    prompt_labels = [IGNORE_INDEX, *prompt_ids[1:]] if prompt_loss else [IGNORE_INDEX] * len(prompt_ids)
    return prompt_ids + response_ids, prompt_labels + response_ids


def batch_stream(
    sequences: Sequence[tuple[list[int], list[int]]], *, batch_size: int, pad_id: int, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Endless epochs of batches -> (input_ids [B, T], attention_mask [B, T], labels [B, T]).

    "Sortish" order: each epoch is shuffled, cut into pools of 32 batches, each pool sorted by
    length and cut into batches, and the batches shuffled. Rows of a batch then have similar
    lengths, so little compute goes to padding (corpus lengths span 10 to 200+ tokens).
    Right-padded; padding is masked out of attention and loss.
    """
    rng = random.Random(seed)
    pool_size = 32 * batch_size
    while True:
        order = list(range(len(sequences)))
        rng.shuffle(order)
        batches: list[list[int]] = []
        for start in range(0, len(order), pool_size):
            pool = sorted(order[start : start + pool_size], key=lambda i: len(sequences[i][0]))
            batches += [pool[i : i + batch_size] for i in range(0, len(pool), batch_size)]
        rng.shuffle(batches)
        for chosen in batches:
            yield collate([sequences[i] for i in chosen], pad_id=pad_id)


def collate(
    rows: Sequence[tuple[list[int], list[int]]], *, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[(input_ids [T_i], labels [T_i])] -> right-padded (input_ids, attention_mask, labels) [B, T]."""
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, (ids, target) in enumerate(rows):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(target)] = torch.tensor(target)
        attention_mask[row, : len(ids)] = 1
    return input_ids, attention_mask, labels


def answer_targets(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """labels [B, T] -> (positions [B, R], targets [B, R]): where each labelled token is predicted
    (the answer's, and the prompt's too when trained with ``prompt_loss``).

    Position t predicts token t + 1, so ``targets[b, r] == labels[b, positions[b, r] + 1]``.
    Rows with fewer than R labelled tokens are padded with position 0 and IGNORE_INDEX.
    """
    answer = labels[:, 1:] != IGNORE_INDEX  # [B, T-1]
    width = max(1, int(answer.sum(dim=1).max()))
    positions = torch.zeros((labels.size(0), width), dtype=torch.long, device=labels.device)
    targets = torch.full((labels.size(0), width), IGNORE_INDEX, dtype=torch.long, device=labels.device)
    for row in range(labels.size(0)):
        where = answer[row].nonzero().squeeze(1)
        positions[row, : where.numel()] = where
        targets[row, : where.numel()] = labels[row, where + 1]
    return positions, targets


def sft_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """logits [B, R, V], targets [B, R] (IGNORE_INDEX where padded) -> scalar: CE, averaged per
    example, then over the batch.

    Per-example averaging gives every example the same weight: with a plain token mean, the
    few long code answers (~60 tokens) would drown the many short shell answers (~5 tokens),
    and the shell answers are where argument copying has to be learned.
    """
    token_loss = torch.nn.functional.cross_entropy(
        logits.float().transpose(1, 2), targets, ignore_index=IGNORE_INDEX, reduction="none"
    )  # [B, R]
    counts = (targets != IGNORE_INDEX).sum(dim=1)  # [B]
    has_targets = counts > 0
    per_example = token_loss.sum(dim=1)[has_targets] / counts[has_targets]
    return per_example.mean()


def get_lr(step: int, config: BootstrapConfig) -> float:
    """Linear warmup to ``learning_rate``, then cosine decay to ``min_learning_rate``."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.min_learning_rate + cosine * (config.learning_rate - config.min_learning_rate)


def adamw_create(model: torch.nn.Module, *, learning_rate: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not norms, which are 1-D)."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=learning_rate, betas=(0.9, 0.95))
