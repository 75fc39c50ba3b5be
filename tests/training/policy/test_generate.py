from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import pytest
import torch

from training.policy.generate import cache_keyword, inverse_cdf_sample, policy_generate, select_cache_rows, top_p_filter
from training.policy.model import policy_load
from training.policy.tokenizer import chat_prompt


@pytest.fixture(scope="module")
def loaded(tiny_policy: Path):
    return policy_load(tiny_policy)


def _prompts(tokenizer) -> list[str]:
    return [
        chat_prompt(tokenizer, [{"role": "user", "content": "Windows, PowerShell. List the files in the logs directory."}]),
        chat_prompt(tokenizer, [{"role": "user", "content": "Windows, cmd.exe. Delete the build directory."}]),
    ]


def test_sampling_is_deterministic_for_a_seed(loaded) -> None:
    model, tokenizer = loaded
    prompts = _prompts(tokenizer) * 2
    first = policy_generate(model, tokenizer, prompts, max_new_tokens=24, temperature=1.5, seed=7)
    again = policy_generate(model, tokenizer, prompts, max_new_tokens=24, temperature=1.5, seed=7)
    assert first == again
    others = [policy_generate(model, tokenizer, prompts, max_new_tokens=24, temperature=1.5, seed=s) for s in (8, 9)]
    assert any(other != first for other in others)


def test_greedy_matches_transformers_generate(loaded) -> None:
    model, tokenizer = loaded
    prompt = _prompts(tokenizer)[0]
    (ours,) = policy_generate(model, tokenizer, [prompt], max_new_tokens=16)
    encoded = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    reference = model.generate(**encoded, max_new_tokens=16, do_sample=False, eos_token_id=tokenizer.eos_token_id)
    expected = [t for t in reference[0, encoded["input_ids"].shape[1]:].tolist() if t != tokenizer.eos_token_id]
    assert list(ours.token_ids) == expected


def test_left_padded_batch_matches_single_prompts(loaded) -> None:
    model, tokenizer = loaded
    prompts = _prompts(tokenizer) + [chat_prompt(tokenizer, [{"role": "user", "content": "Say something long."}])]
    batched = policy_generate(model, tokenizer, prompts, max_new_tokens=16)
    singles = [policy_generate(model, tokenizer, [p], max_new_tokens=16)[0] for p in prompts]
    assert [g.token_ids for g in batched] == [g.token_ids for g in singles]
    assert len({len(g.token_ids) for g in batched}) > 1  # rows finished at different steps and left the batch


def test_a_repeated_prompt_is_answered_as_if_alone(loaded) -> None:
    """The prompt is read once and its KV cache copied to each row that answers it."""
    model, tokenizer = loaded
    first, second = _prompts(tokenizer)
    grouped = policy_generate(model, tokenizer, [first, second, first, first, second], max_new_tokens=16)
    alone = {p: policy_generate(model, tokenizer, [p], max_new_tokens=16)[0].token_ids for p in (first, second)}
    assert [g.token_ids for g in grouped] == [alone[p] for p in (first, second, first, first, second)]
    assert [g.prompt_tokens for g in grouped][:2] == [len(tokenizer(p, add_special_tokens=False)["input_ids"]) for p in (first, second)]
    sampled = policy_generate(model, tokenizer, [first] * 8, max_new_tokens=16, temperature=1.5, seed=3)
    assert len({g.token_ids for g in sampled}) > 1  # copies of one cache, each row its own draws


def test_trained_policy_answers_and_stops(loaded) -> None:
    model, tokenizer = loaded
    (generation,) = policy_generate(model, tokenizer, _prompts(tokenizer)[:1], max_new_tokens=40)
    assert generation.finish_reason == "stop"
    assert generation.text.startswith("$ ")
    assert generation.completion_tokens == len(generation.token_ids) + 1  # + eos


def test_length_and_stop_strings(loaded) -> None:
    model, tokenizer = loaded
    prompt = _prompts(tokenizer)[:1]
    (short,) = policy_generate(model, tokenizer, prompt, max_new_tokens=2)
    assert short.finish_reason == "length" and len(short.token_ids) == 2
    (stopped,) = policy_generate(model, tokenizer, prompt, max_new_tokens=40, stop=["$"])
    assert stopped.finish_reason == "stop" and stopped.stop_reason == "$" and stopped.text == ""


def test_context_overflow_is_rejected(loaded) -> None:
    model, tokenizer = loaded
    with pytest.raises(ValueError, match="exceeds the context"):
        policy_generate(model, tokenizer, _prompts(tokenizer), max_new_tokens=model.config.max_position_embeddings)


def test_top_p_keeps_the_smallest_nucleus() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    filtered = top_p_filter(probs, 0.75)
    assert torch.allclose(filtered, torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    assert torch.equal(top_p_filter(probs, 0.1), torch.tensor([[1.0, 0.0, 0.0, 0.0]]))


def test_inverse_cdf_sample_draws_each_token_with_its_probability() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.0, 0.2, 0.0]]).expand(40_000, -1)
    drawn = inverse_cdf_sample(probs, torch.Generator().manual_seed(0))
    shares = torch.bincount(drawn, minlength=5).float() / len(drawn)
    assert torch.allclose(shares, probs[0], atol=0.01)  # 3.5 standard errors at 40,000 draws
    assert shares[2] == 0.0 and shares[4] == 0.0  # a zero between others, and the last


def test_the_kv_cache_goes_by_the_keyword_the_model_takes(loaded) -> None:
    model, tokenizer = loaded
    assert cache_keyword(model) in inspect.signature(type(model).forward).parameters
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*past_key_values.*")  # deprecated where `cache` exists
        assert policy_generate(model, tokenizer, _prompts(tokenizer), max_new_tokens=4)


def test_select_cache_rows_on_a_legacy_tuple_cache() -> None:
    keys, values = torch.arange(24.0).reshape(3, 1, 4, 2), -torch.arange(24.0).reshape(3, 1, 4, 2)
    (kept_keys, kept_values), = select_cache_rows(((keys, values),), torch.tensor([0, 2]))
    assert torch.equal(kept_keys, keys[[0, 2]]) and torch.equal(kept_values, values[[0, 2]])
