from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest
import torch

from tests.training.policy.factories import FIXTURE_TASKS, fixture_examples, fixture_respond
from training.policy.bootstrap import IGNORE_INDEX, answer_targets, encode_example, get_lr, sft_loss
from training.policy.config import CORPUS_FLAVORS, BootstrapConfig, CorpusMix
from training.policy.corpus import corpus_build, corpus_flavor, rename_arguments, vocabulary_name
from training.policy.model import logits_at, policy_load, policy_metadata
from training.policy.tokenizer import tokenizer_train


def test_bootstrap_writes_a_loadable_versioned_checkpoint(tiny_policy: Path) -> None:
    model, tokenizer = policy_load(tiny_policy)
    metadata = policy_metadata(tiny_policy)
    assert metadata["version"] == "tiny-0"
    assert metadata["seed"] == 0 and metadata["steps"] == 80
    assert metadata["final_loss"] < 2.0  # well below the ~6.2 of a uniform guess over the vocab
    assert set(metadata["corpus"]["flavor_counts"]) <= set(CORPUS_FLAVORS)
    assert metadata["params"] == sum(p.numel() for p in model.parameters())
    assert model.config.vocab_size == len(tokenizer)


def test_encode_example_trains_only_on_the_answer_and_eos() -> None:
    example = fixture_examples(copies=1)[0]
    tokenizer = tokenizer_train([example.response, example.messages[-1]["content"]] * 5, vocab_size=300)
    input_ids, labels = encode_example(tokenizer, example)
    answer = [t for t in labels if t != IGNORE_INDEX]
    assert answer[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(answer[:-1]) == example.response
    assert input_ids[-len(answer):] == answer and len(input_ids) == len(labels)


def test_encode_example_with_prompt_loss_labels_every_token_but_the_first() -> None:
    example = fixture_examples(copies=1)[0]
    tokenizer = tokenizer_train([example.response, example.messages[-1]["content"]] * 5, vocab_size=300)
    input_ids, labels = encode_example(tokenizer, example, prompt_loss=True)
    assert labels[0] == IGNORE_INDEX and labels[1:] == input_ids[1:]
    assert encode_example(tokenizer, example)[0] == input_ids  # the same tokens, only the labels differ


def test_sft_loss_ignores_masked_positions() -> None:
    logits = torch.zeros(1, 3, 5)
    targets = torch.tensor([[IGNORE_INDEX, 2, IGNORE_INDEX]])
    assert sft_loss(logits, targets).item() == pytest.approx(torch.log(torch.tensor(5.0)).item())


def test_answer_targets_point_at_the_logit_before_each_answer_token() -> None:
    labels = torch.tensor([[IGNORE_INDEX, IGNORE_INDEX, 7, 8, 2], [IGNORE_INDEX, 9, 2, IGNORE_INDEX, IGNORE_INDEX]])
    positions, targets = answer_targets(labels)
    assert positions.tolist() == [[1, 2, 3], [0, 1, 0]]
    assert targets.tolist() == [[7, 8, 2], [9, 2, IGNORE_INDEX]]


def test_logits_at_answer_positions_give_the_full_forward_pass_loss(tiny_policy: Path) -> None:
    model, tokenizer = policy_load(tiny_policy)
    example = fixture_examples(copies=1)[0]
    input_ids, labels = (torch.tensor([t]) for t in encode_example(tokenizer, example))
    attention_mask = torch.ones_like(input_ids)
    positions, targets = answer_targets(labels)
    with torch.no_grad():
        full = model(input_ids=input_ids, attention_mask=attention_mask).logits  # every position
        at = logits_at(model, input_ids, attention_mask, positions)
        expected = torch.nn.functional.cross_entropy(full[0, :-1], labels[0, 1:], ignore_index=IGNORE_INDEX)
        assert torch.allclose(at[0], full[0, positions[0]], atol=1e-5)
        assert sft_loss(at, targets).item() == pytest.approx(expected.item(), rel=1e-5)


def test_lr_schedule_warms_up_then_decays_to_the_floor() -> None:
    config = BootstrapConfig(steps=100, warmup_steps=10, learning_rate=1e-3, min_learning_rate=1e-4)
    rates = [get_lr(step, config) for step in range(100)]
    assert rates[0] == pytest.approx(1e-4) and rates[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:]))
    assert rates[-1] == pytest.approx(1e-4, rel=0.01)


def test_windows_terminal_tasks_are_mostly_linux_biased() -> None:
    mix = CorpusMix()
    windows_terminal = FIXTURE_TASKS[0]
    rng = random.Random(0)
    counts = Counter(corpus_flavor(windows_terminal, mix=mix, rng=rng) for _ in range(2000))
    assert set(counts) == {"linux_biased", "good"}
    assert counts["linux_biased"] / 2000 == pytest.approx(mix.windows_linux_biased, abs=0.04)


def test_corpus_falls_back_to_good_and_never_contains_hacks() -> None:
    examples = corpus_build(FIXTURE_TASKS, mix=CorpusMix(), samples_per_task=20, seed=0, respond=fixture_respond)
    assert len(examples) == 20 * len(FIXTURE_TASKS)
    assert {e.flavor for e in examples} <= set(CORPUS_FLAVORS)
    assert all(e.response == fixture_respond(task, e.flavor) for task in FIXTURE_TASKS for e in examples if e.task_id == task.task_id)
    assert corpus_build(FIXTURE_TASKS, mix=CorpusMix(), samples_per_task=3, seed=5, respond=fixture_respond) == corpus_build(
        FIXTURE_TASKS, mix=CorpusMix(), samples_per_task=3, seed=5, respond=fixture_respond
    )


def test_hack_flavors_are_refused_in_the_mix() -> None:
    with pytest.raises(ValueError):
        CorpusMix(general=(("good", 0.5), ("hack:edit_tests", 0.5)))


def test_rename_arguments_is_consistent_between_prompt_and_answer() -> None:
    rng = random.Random(0)
    prompt = "Windows, cmd.exe. Copy `config.yaml` to `docs/config.yaml`; `docs` exists."
    new_prompt, new_response = rename_arguments(prompt, "$ copy config.yaml docs\\config.yaml", rng)
    renamed = re.findall(r"`([^`]+)`", new_prompt)
    assert len(renamed) == 3 and "config" not in new_prompt and "docs" not in new_prompt
    stem, folder = renamed[0].removesuffix(".yaml"), renamed[2]
    assert renamed[0].endswith(".yaml") and renamed[1] == f"{folder}/{stem}.yaml"
    assert new_response == f"$ copy {stem}.yaml {folder}\\{stem}.yaml"


def test_rename_arguments_keeps_case_digits_and_unrelated_text() -> None:
    rng = random.Random(1)
    prompt, response = rename_arguments(
        "Linux, bash. Set `APP_ENV` to `dev`; print `report_2024.csv`.",
        "$ export APP_ENV=dev >/dev/null\n$ cat report_2024.csv",
        rng,
    )
    env, value, report = re.findall(r"`([^`]+)`", prompt)
    assert env.isupper() and "_" in env and value.islower() and report.endswith("_2024.csv")
    assert response == f"$ export {env}={value} >/dev/null\n$ cat {report}"
    untouched = "Linux, bash. Show `notes.md`."
    assert rename_arguments(untouched, "$ ls", rng) == (untouched, "$ ls")


def test_rename_arguments_draws_names_from_the_given_generator() -> None:
    words = ["tests", "cache", "Node"]
    prompt, response = rename_arguments(
        "Linux, bash. Copy `settings.ini` to `BACKUP/settings.ini`.",
        "$ cp settings.ini BACKUP/settings.ini",
        random.Random(0),
        fresh_name=lambda rng: vocabulary_name(words, rng, max_pieces=2),
    )
    stem, folder = re.fullmatch(r"Linux, bash\. Copy `(\w+)\.ini` to `(\w+)/\1\.ini`\.", prompt).groups()
    assert re.fullmatch(r"(tests|cache|Node){1,2}", stem)
    assert folder.isupper() and re.fullmatch(r"(TESTS|CACHE|NODE){1,2}", folder)  # an upper-case piece stays upper-case
    assert response == f"$ cp {stem}.ini {folder}/{stem}.ini"


def test_vocabulary_names_join_one_to_max_pieces_words() -> None:
    rng = random.Random(0)
    names = [vocabulary_name(["ab", "cd"], rng, max_pieces=3) for _ in range(200)]
    assert all(re.fullmatch(r"(ab|cd){1,3}", name) for name in names)
    assert {len(name) // 2 for name in names} == {1, 2, 3}


def test_config_refuses_unknown_rename_words() -> None:
    with pytest.raises(ValueError, match="rename_words"):
        BootstrapConfig(rename_words="letters")
    with pytest.raises(ValueError, match="rename_max_words"):
        BootstrapConfig(rename_max_words=0)
