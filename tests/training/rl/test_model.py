"""The learner's log-probabilities read the LM head at answer positions only; with LoRA too."""
from __future__ import annotations

import torch

from training.policy.model import logits_at
from training.rl.config import LoraSettings
from training.rl.model import rl_model_build


def test_logits_at_follow_the_adapters_and_their_disabling(rl_policy):
    model, tokenizer = rl_model_build(str(rl_policy), lora=LoraSettings(rank=4, alpha=8), seed=0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:  # PEFT starts B at zero: the adapters would change nothing
                param.normal_(std=0.5)
    input_ids = torch.tensor([tokenizer("dir /b `notes` && type `a.txt`")["input_ids"]])
    attention_mask = torch.ones_like(input_ids)
    positions = torch.tensor([[0, 2, input_ids.size(1) - 1]])
    with torch.no_grad():
        adapted = logits_at(model, input_ids, attention_mask, positions)
        assert torch.allclose(adapted[0], model(input_ids=input_ids, attention_mask=attention_mask).logits[0, positions[0]], atol=1e-5)
        with model.disable_adapter():
            base = logits_at(model, input_ids, attention_mask, positions)
            assert torch.allclose(base[0], model(input_ids=input_ids, attention_mask=attention_mask).logits[0, positions[0]], atol=1e-5)
    assert not torch.allclose(adapted, base, atol=1e-3)
