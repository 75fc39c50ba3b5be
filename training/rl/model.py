"""Build the trainable policy (full or LoRA) the same way in the learner and the rollout workers.

Both sides must hold identically named parameters: weights travel as a ``{name: tensor}``
dict of the trainable parameters only (the adapters with LoRA, everything without).
"""
from __future__ import annotations

import torch
from transformers import PreTrainedTokenizerBase

from training.policy.model import policy_load
from training.rl.config import LoraSettings


def rl_model_build(
    policy_path: str, *, lora: LoraSettings | None, seed: int, device: str = "cpu"
) -> tuple[torch.nn.Module, PreTrainedTokenizerBase]:
    """Load the policy; wrap it in PEFT LoRA adapters when ``lora`` is set. Returns (model, tokenizer)."""
    model, tokenizer = policy_load(policy_path, device=device)
    if lora is None:
        return model, tokenizer
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    peft_config = LoraConfig(
        r=lora.rank,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, peft_config), tokenizer


def trainable_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """{name: detached CPU copy} of the parameters that train (what the rollout workers need)."""
    return {name: p.detach().to("cpu", copy=True) for name, p in model.named_parameters() if p.requires_grad}


def trainable_weights_load(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    """Copy ``weights`` into ``model``'s parameters of the same names; every name must exist."""
    params = dict(model.named_parameters())
    missing = [name for name in weights if name not in params]
    if missing:
        raise KeyError(f"{len(missing)} weights have no parameter in this model, e.g. {missing[0]!r}")
    with torch.no_grad():
        for name, tensor in weights.items():
            params[name].copy_(tensor.to(params[name].device, params[name].dtype))

