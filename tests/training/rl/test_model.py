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


def _reference_train_step(learner, batch) -> None:
    """The learner's update with old log-probabilities from a separate no-grad pass (what it did before)."""
    from training.rl import algorithms
    from training.rl.learner import batch_tensors

    config = learner.config
    tensors = batch_tensors(batch, pad_id=learner.tokenizer.pad_token_id, device=learner.device)
    advantages = torch.tensor([s.advantage for s in batch])
    with torch.no_grad():
        old_log_probs, _ = learner._response_log_probs(learner.model, *tensors[:4])
    for _ in range(config.updates_per_batch):
        log_probs, _ = learner._response_log_probs(learner.model, *tensors[:4])
        loss, _ = algorithms.policy_loss(log_probs, old_log_probs, advantages, tensors[4], clip_low=config.clip_ratio_low,
                                         clip_high=config.clip_ratio_high, aggregation=config.loss_aggregation)
        learner.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in learner.model.parameters() if p.requires_grad], config.grad_clip)
        learner.optimizer.step()


def test_old_log_probs_from_the_first_update_give_the_same_steps_as_a_separate_pass(rl_policy, tmp_path):
    from training.rl.config import RLConfig
    from training.rl.learner import Learner, TrainSample

    config = RLConfig(policy_path=str(rl_policy), output_dir=str(tmp_path), updates_per_batch=3, learning_rate=1e-2)
    ours, reference = Learner(config), Learner(config)
    prompt = tuple(ours.tokenizer("Windows, cmd.exe. List the files in the `logs` directory.")["input_ids"])
    answers = ["$ dir logs", "$ ls logs", "$ dir /b logs", "$ type logs"]
    batch = [TrainSample(prompt, tuple(ours.tokenizer(a)["input_ids"]), advantage)
             for a, advantage in zip(answers, (1.0, -1.0, 0.5, -0.5))]
    stats = ours.train_step(batch)
    _reference_train_step(reference, batch)
    for (name, a), b in zip(ours.model.named_parameters(), reference.model.parameters()):
        assert torch.allclose(a, b, atol=1e-6), name
    assert stats["clip/fraction"] > 0  # the later updates moved past the clip range: old log-probs were held fixed
