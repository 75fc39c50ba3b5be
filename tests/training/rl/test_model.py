"""The learner's log-probabilities: the LM head at answer positions only, each distinct prompt run once; with LoRA too."""
from __future__ import annotations

import torch

from training.policy.generate import left_pad
from training.policy.model import logits_at, shared_prompt_answer_logits
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


def test_shared_prompt_logits_and_gradients_equal_the_whole_sequences(rl_policy):
    model, tokenizer = rl_model_build(str(rl_policy), lora=LoraSettings(rank=4, alpha=8), seed=0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.5)
    prompts = [tokenizer(p)["input_ids"] for p in ("Windows, cmd.exe. List the files.", "Linux, bash. Delete `build`.")]
    answers = [tokenizer(a)["input_ids"] for a in ("$ dir", "$ ls -la", "$ rm -rf build", "$")]
    prompt_of_row = torch.tensor([0, 0, 1, 1])  # a group per prompt, prompts of different lengths
    pad = tokenizer.pad_token_id
    sequences = [prompts[p] + a for p, a in zip(prompt_of_row.tolist(), answers)]
    width, answer_width = max(map(len, sequences)), max(map(len, answers))
    input_ids = torch.tensor([s + [pad] * (width - len(s)) for s in sequences])
    answer_ids = torch.tensor([a + [pad] * (answer_width - len(a)) for a in answers])
    answer_mask = (torch.arange(answer_width) < torch.tensor([len(a) for a in answers])[:, None]).long()
    starts = torch.tensor([len(prompts[p]) for p in prompt_of_row.tolist()])
    positions = (starts[:, None] - 1 + torch.arange(answer_width)).clamp(max=width - 1)
    prompt_ids, prompt_mask = left_pad(prompts, pad_id=pad)

    def logits_and_grads(compute) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad()
        logits = compute()
        (logits.logsumexp(-1) * answer_mask).sum().backward()
        return logits.detach() * answer_mask[..., None], {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    whole, whole_grads = logits_and_grads(lambda: logits_at(model, input_ids, (input_ids != pad).long(), positions))
    shared, shared_grads = logits_and_grads(
        lambda: shared_prompt_answer_logits(model, prompt_ids, prompt_mask, prompt_of_row, answer_ids, answer_mask))
    assert torch.allclose(shared, whole, atol=1e-4)
    assert whole_grads.keys() == shared_grads.keys() and any("lora_A" in name for name in whole_grads)
    for name, grad in whole_grads.items():
        assert torch.allclose(shared_grads[name], grad, atol=1e-4, rtol=1e-3), name


def _reference_train_step(learner, batch) -> None:
    """The learner's update with old log-probabilities from a separate no-grad pass (what it did before)."""
    from training.rl import algorithms
    from training.rl.learner import batch_tensors

    config = learner.config
    tensors = batch_tensors(batch, pad_id=learner.tokenizer.pad_token_id, device=learner.device)
    advantages = torch.tensor([s.advantage for s in batch])
    with torch.no_grad():
        old_log_probs = algorithms.token_log_probs(learner._response_logits(learner.model, tensors), tensors.response_tokens)
    for _ in range(config.updates_per_batch):
        log_probs = algorithms.token_log_probs(learner._response_logits(learner.model, tensors), tensors.response_tokens)
        loss, _ = algorithms.policy_loss(log_probs, old_log_probs, advantages, tensors.mask, clip_low=config.clip_ratio_low,
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
