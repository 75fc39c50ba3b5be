"""Create, save and load policies as plain Hugging Face checkpoints (vLLM can serve them).

A policy directory holds ``config.json``, ``model.safetensors``, the tokenizer files and
``flywheel_policy.json`` (our metadata: version, seed, corpus mix, steps, final loss).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from training.policy.config import PolicyArchitecture
from training.policy.generate import cache_keyword, output_cache, select_cache_rows

METADATA_FILE = "flywheel_policy.json"


def policy_model_create(
    *, architecture: PolicyArchitecture, tokenizer: PreTrainedTokenizerBase, seed: int
) -> LlamaForCausalLM:
    """A freshly initialised ``LlamaForCausalLM`` whose vocabulary is the tokenizer's.

    The embedding table is sized by ``len(tokenizer)`` (the BPE trainer may produce fewer
    tokens than ``architecture.vocab_size``), so no id is ever out of range.
    """
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=architecture.hidden_size,
        intermediate_size=architecture.intermediate_size,
        num_hidden_layers=architecture.num_hidden_layers,
        num_attention_heads=architecture.num_attention_heads,
        num_key_value_heads=architecture.num_key_value_heads,
        max_position_embeddings=architecture.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": architecture.rope_theta},
        tie_word_embeddings=architecture.tie_word_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def logits_at(
    model: torch.nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor
) -> torch.Tensor:
    """Next-token logits at ``positions`` only: input_ids [B, L], positions [B, R] -> [B, R, V].

    RL's learner (and a bootstrap without ``prompt_loss``) reads logits only where an answer
    token is predicted, and prompts are most of a sequence: running the LM head (and the
    softmax after it) on every position made such a step 13% slower
    (``benchmarks/answer_logits.py``). Works
    for any Hugging Face causal LM, LoRA-wrapped or not (PEFT forwards ``get_decoder`` to the
    wrapped model, whose layers carry the adapters).
    """
    hidden = model.get_decoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # [B, L, H]
    index = positions.unsqueeze(-1).expand(-1, -1, hidden.size(-1))  # [B, R, H]
    return model.get_output_embeddings()(hidden.gather(1, index))


def shared_prompt_answer_logits(
    model: torch.nn.Module,
    prompt_ids: torch.Tensor,
    prompt_mask: torch.Tensor,
    prompt_of_row: torch.Tensor,
    answer_ids: torch.Tensor,
    answer_mask: torch.Tensor,
) -> torch.Tensor:
    """Logits predicting each answer token, each distinct prompt run once: -> [B, R, V].

    prompt_ids, prompt_mask [P, Lp]: the distinct prompts, left-padded; prompt_of_row [B]: the
    prompt each answer row answers; answer_ids, answer_mask [B, R]: the answers, right-padded.
    An RL batch answers each prompt ``group_size`` times and prompts are most of its tokens:
    the prompts go through the model once, their KV cache is indexed out to the answer rows,
    and only the answers' tokens run on top of it. Gradients reach the prompts' pass through
    the cache, so this equals ``logits_at`` on the whole sequences (checked in
    ``tests/training/rl/test_model.py``).
    """
    decoder = model.get_decoder()
    prompt_positions = (prompt_mask.cumsum(-1) - 1).clamp(min=0)  # [P, Lp]
    prompts = decoder(input_ids=prompt_ids, attention_mask=prompt_mask, position_ids=prompt_positions, use_cache=True)
    hidden = prompts.last_hidden_state[prompt_of_row, -1:]  # [B, 1, H]: predicts answer token 0
    if answer_ids.size(1) > 1:  # answer token t (t >= 1) is predicted at answer position t - 1
        cache = select_cache_rows(output_cache(prompts), prompt_of_row)
        steps = torch.arange(1, answer_ids.size(1), device=answer_ids.device)
        answers = decoder(
            input_ids=answer_ids[:, :-1],
            attention_mask=torch.cat([prompt_mask[prompt_of_row], answer_mask[:, :-1]], dim=-1),
            position_ids=prompt_positions[prompt_of_row, -1:] + steps,
            use_cache=True,
            **{cache_keyword(model): cache},
        )
        hidden = torch.cat([hidden, answers.last_hidden_state], dim=1)  # [B, R, H]
    return model.get_output_embeddings()(hidden)


def policy_param_count(model: torch.nn.Module) -> int:
    """Unique parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def policy_save(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    path: str | Path,
    *,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write a loadable HF checkpoint (safetensors weights) plus optional metadata; returns the dir."""
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    _portable_tokenizer_class(out)
    if metadata is not None:
        (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return out


def policy_load(
    path: str | Path, *, device: str = "cpu", dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load ANY local HF causal-LM checkpoint directory (never touches the network).

    Returns ``(model in eval mode, tokenizer)``. Raises ``FileNotFoundError`` when ``path``
    is not a directory with a ``config.json``.
    """
    directory = Path(path)
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(f"no Hugging Face checkpoint (config.json) in {directory}")
    tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True, dtype=dtype)
    model.to(device)
    model.eval()
    if tokenizer.pad_token_id is None:  # third-party checkpoints often lack a pad token
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def policy_metadata(path: str | Path) -> dict[str, Any]:
    """``flywheel_policy.json`` of a policy directory, or ``{}`` when it has none."""
    file = Path(path) / METADATA_FILE
    return json.loads(file.read_text()) if file.is_file() else {}


def policy_chat_template(path: str | Path) -> str | None:
    """The chat template a checkpoint's tokenizer carries, read without loading it (``None`` if none)."""
    directory = Path(path)
    if (directory / "chat_template.jinja").is_file():
        return (directory / "chat_template.jinja").read_text()
    config_file = directory / "tokenizer_config.json"
    return json.loads(config_file.read_text()).get("chat_template") if config_file.is_file() else None


def _portable_tokenizer_class(directory: Path) -> None:
    """Record the class name every transformers version (and vLLM) knows for a fast tokenizer."""
    config_file = directory / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
