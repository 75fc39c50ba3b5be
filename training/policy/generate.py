"""Batched, seeded sampling from a causal LM with a KV cache.

A small explicit loop instead of ``model.generate``: it owns its ``torch.Generator`` (so a
seed fixes the output no matter what else uses the global RNG, e.g. server threads), and
it reports per row what an OpenAI-style API needs: token counts and the finish reason.
A row that has finished leaves the batch and the KV cache, so a batch costs what its rows
still decoding cost: RL groups and the gate's batches mix two-token shell answers with
sixty-token code edits (``benchmarks/generate.py``: 0.50-0.55x the time of decoding every
row to the end).
"""
from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass(frozen=True)
class Generation:
    """One completion of one prompt."""

    text: str
    """Decoded completion, specials skipped, cut before the first stop string."""
    token_ids: tuple[int, ...]
    """Generated ids, eos excluded (what ``usage.completion_tokens`` counts, eos aside)."""
    prompt_tokens: int
    """Prompt length in tokens."""
    finish_reason: str
    """``"stop"`` (eos or a stop string) or ``"length"`` (hit ``max_new_tokens``)."""
    stop_reason: str | None = None
    """The stop string that ended the text, if one did."""

    @property
    def completion_tokens(self) -> int:
        """Tokens the model emitted for this row, the terminating eos included if any."""
        return len(self.token_ids) + (1 if self.finish_reason == "stop" and self.stop_reason is None else 0)


def policy_generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    seed: int = 0,
    stop: Sequence[str] = (),
) -> list[Generation]:
    """Complete every prompt (already formatted, e.g. by the chat template) in one batch.

    ``temperature == 0`` is greedy. The same (model, prompts, params, seed) always gives
    the same output. Raises ``ValueError`` if a prompt plus ``max_new_tokens`` exceeds the
    model's context.
    """
    if not prompts:
        return []
    distinct = {p: tokenizer(p, add_special_tokens=False)["input_ids"] for p in dict.fromkeys(prompts)}  # groups repeat prompts
    encoded = [distinct[p] for p in prompts]
    _check_context(model, encoded, max_new_tokens)
    input_ids, attention_mask = _left_pad(encoded, pad_id=_pad_id(tokenizer))
    device = next(model.parameters()).device
    input_ids, attention_mask = input_ids.to(device), attention_mask.to(device)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    eos_id = tokenizer.eos_token_id

    rows = [_Row() for _ in prompts]
    active = list(range(len(rows)))  # rows still decoding, in the order of the batch the model sees
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    with torch.inference_mode():
        out = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=True)
        kv_cache, cache_key = out.past_key_values, cache_keyword(model)  # the model's own cache: built from its config
        for _ in range(max_new_tokens):
            next_ids = sample_next_token(out.logits[:, -1, :].float().cpu(), temperature, top_p, generator)
            for i, token in zip(active, next_ids.tolist()):
                rows[i].push(token, eos_id=eos_id, tokenizer=tokenizer, stop=stop)
            keep = [j for j, i in enumerate(active) if not rows[i].done]
            if not keep:
                break
            if len(keep) < len(active):
                active, next_ids = [active[j] for j in keep], next_ids[keep]
                kept = torch.tensor(keep, device=device)
                kv_cache = keep_cache_rows(kv_cache, kept)
                attention_mask, position_ids = attention_mask[kept], position_ids[kept]
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones((len(active), 1))], dim=-1)
            position_ids = position_ids[:, -1:] + 1
            out = model(
                input_ids=next_ids[:, None].to(device),
                attention_mask=attention_mask,
                position_ids=position_ids,
                use_cache=True,
                **{cache_key: kv_cache},
            )
    return [row.finish(tokenizer, prompt_tokens=len(ids)) for row, ids in zip(rows, encoded)]


def cache_keyword(model: torch.nn.Module) -> str:
    """The keyword the model's forward takes its KV cache by: ``cache`` in recent transformers
    (which deprecate ``past_key_values`` and will drop it), ``past_key_values`` before."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # PEFT passes keywords through
    return "cache" if "cache" in inspect.signature(type(base).forward).parameters else "past_key_values"


def keep_cache_rows(cache: Any, rows: torch.Tensor) -> Any:
    """The KV cache with only ``rows`` of its batch: a ``Cache`` in place, a legacy tuple of
    (key, value) per layer (older transformers) rebuilt."""
    if hasattr(cache, "batch_select_indices"):
        cache.batch_select_indices(rows)
        return cache
    return tuple(tuple(tensor[rows] for tensor in layer) for layer in cache)


def sample_next_token(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator
) -> torch.Tensor:
    """logits [B, V] -> token ids [B]: argmax if ``temperature == 0``, else nucleus sampling."""
    if temperature <= 0.0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        probs = top_p_filter(probs, top_p)
    return exponential_race(probs, generator)


def exponential_race(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """probs [B, V] -> one token id per row [B], drawn with probability ``probs``.

    ``argmax(p_i / E_i)`` with ``E_i ~ Exp(1)`` picks ``i`` with probability ``p_i`` (the
    Gumbel-max trick in another form); on CPU it is several times cheaper than
    ``torch.multinomial`` over a vocabulary-wide row.
    """
    race = torch.empty_like(probs).exponential_(generator=generator)
    return (probs / race).argmax(dim=-1)


def top_p_filter(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """probs [B, V] -> probs [B, V] renormalised over the smallest set with mass >= top_p."""
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)  # keeps the top token always
    filtered = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return filtered / filtered.sum(dim=-1, keepdim=True)


def _left_pad(encoded: list[list[int]], *, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Ragged ids -> (input_ids [B, T], attention_mask [B, T]), padded on the left."""
    width = max(len(ids) for ids in encoded)
    input_ids = torch.full((len(encoded), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for i, ids in enumerate(encoded):
        if ids:
            input_ids[i, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            attention_mask[i, width - len(ids):] = 1
    return input_ids, attention_mask


def _pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def _check_context(model: PreTrainedModel, encoded: list[list[int]], max_new_tokens: int) -> None:
    limit = getattr(model.config, "max_position_embeddings", None)
    if any(not ids for ids in encoded):
        raise ValueError("every prompt must encode to at least one token")
    longest = max(len(ids) for ids in encoded)
    if limit is not None and longest + max_new_tokens > limit:
        raise ValueError(
            f"prompt ({longest} tokens) + max_new_tokens ({max_new_tokens}) exceeds the context of {limit} tokens"
        )


class _Row:
    """Per-prompt decoding state."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.done = False
        self.finish_reason = "length"
        self.stop_reason: str | None = None
        self.text: str | None = None

    def push(self, token: int, *, eos_id: int | None, tokenizer: PreTrainedTokenizerBase, stop: Sequence[str]) -> None:
        if token == eos_id:
            self.done, self.finish_reason = True, "stop"
            return
        self.ids.append(token)
        if stop:
            text = tokenizer.decode(self.ids, skip_special_tokens=True)
            cut = _first_stop(text, stop)
            if cut is not None:
                self.text, self.stop_reason = text[: cut[0]], cut[1]
                self.done, self.finish_reason = True, "stop"

    def finish(self, tokenizer: PreTrainedTokenizerBase, *, prompt_tokens: int) -> Generation:
        text = self.text if self.text is not None else tokenizer.decode(self.ids, skip_special_tokens=True)
        return Generation(
            text=text,
            token_ids=tuple(self.ids),
            prompt_tokens=prompt_tokens,
            finish_reason=self.finish_reason,
            stop_reason=self.stop_reason,
        )


def _first_stop(text: str, stop: Sequence[str]) -> tuple[int, str] | None:
    """(index, stop string) of the earliest stop string in ``text``, or None."""
    hits = [(text.find(s), s) for s in stop if s and s in text]
    return min(hits) if hits else None
