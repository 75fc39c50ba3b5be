"""The copy probe: its losses against the model's own loss, its greedy check, and its command."""
from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
import torch
from django.core.management import CommandError, call_command

from training.environment import task_catalog
from training.policy.generate import policy_generate
from training.policy.model import policy_load
from training.policy.probe import (
    PROBE_COMMAND,
    PROBE_PROMPT,
    answer_nll,
    copy_probe,
    copy_summary,
    held_out_names,
    made_up_names,
)
from training.policy.tokenizer import chat_prompt


def test_answer_nll_is_the_models_own_loss_on_the_answer(tiny_policy: Path) -> None:
    model, tokenizer = policy_load(tiny_policy)
    prompt_ids = tokenizer(chat_prompt(tokenizer, [{"role": "user", "content": "Linux, bash. List files."}]),
                           add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer("$ ls -la", add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + answer_ids])
    labels = torch.tensor([[-100] * len(prompt_ids) + answer_ids])
    with torch.no_grad():
        mean_loss = model(input_ids=ids, labels=labels).loss.item()
    nll = answer_nll(model, prompt_ids, answer_ids)
    assert len(nll) == len(answer_ids)
    assert sum(nll) / len(nll) == pytest.approx(mean_loss, rel=1e-4)


def test_copy_probe_splits_first_and_later_tokens_and_checks_the_greedy_answer(tiny_policy: Path) -> None:
    model, tokenizer = policy_load(tiny_policy)
    names = {"made_up": ["kedira", "bo"], "held_out": ["cache"]}
    probes = copy_probe(model, tokenizer, names)
    assert [(p.group, p.name) for p in probes] == [("made_up", "kedira"), ("made_up", "bo"), ("held_out", "cache")]
    command_ids = tokenizer(PROBE_COMMAND, add_special_tokens=False)["input_ids"]
    for probe in probes:
        prompt = chat_prompt(tokenizer, [{"role": "user", "content": PROBE_PROMPT.format(name=probe.name)}])
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(f"{PROBE_COMMAND} {probe.name}", add_special_tokens=False)["input_ids"]
        name_nll = answer_nll(model, prompt_ids, answer_ids)[len(command_ids):]
        assert tokenizer.convert_tokens_to_string(list(probe.tokens)) == f" {probe.name}"
        assert probe.first_token_nll == pytest.approx(name_nll[0])
        if len(name_nll) > 1:
            assert probe.later_tokens_nll == pytest.approx(sum(name_nll[1:]) / len(name_nll[1:]))
        else:
            assert probe.later_tokens_nll is None
        greedy = policy_generate(model, tokenizer, [prompt], max_new_tokens=24, temperature=0.0)[0].text
        assert probe.copied == (greedy.strip() == f"{PROBE_COMMAND} {probe.name}")


def test_copy_summary_averages_per_group() -> None:
    from training.policy.probe import CopyProbe

    probes = [
        CopyProbe("ab", "g", ("Ġab",), 1.0, None, True),
        CopyProbe("cdef", "g", ("Ġcd", "ef"), 3.0, 4.0, False),
        CopyProbe("x", "h", ("Ġx",), 0.5, None, False),
    ]
    assert copy_summary(probes) == {
        "g": {"names": 2, "copied": 0.5, "first_token_nll": 2.0, "later_tokens_nll": 4.0},
        "h": {"names": 1, "copied": 0.0, "first_token_nll": 0.5, "later_tokens_nll": None},
    }


def test_held_out_names_are_the_eval_splits_one_word_arguments() -> None:
    names = held_out_names()
    eval_prompts = " ".join(t.prompt for t in task_catalog(split="eval") if t.kind == "terminal")
    assert names == sorted(set(names)) and "cache" in names
    for name in names:
        assert f"`{name}`" in eval_prompts and re.fullmatch(r"[A-Za-z][\w.-]*", name)


def test_made_up_names_are_seeded() -> None:
    assert made_up_names(5, seed=3) == made_up_names(5, seed=3)
    assert made_up_names(5, seed=3) != made_up_names(5, seed=4)
    assert all(re.fullmatch(r"[a-z]{4,6}", name) for name in made_up_names(20))


@pytest.mark.django_db
def test_policy_baseline_copy_probe_command(tiny_policy: Path) -> None:
    out = StringIO()
    call_command("policy_baseline", "--copy-probe", "--json", "--policy", str(tiny_policy), stdout=out)
    report = json.loads(out.getvalue())
    assert list(report["summary"]) == ["made_up", "held_out"]
    assert report["summary"]["made_up"]["names"] == 20
    assert report["summary"]["held_out"]["names"] == len(held_out_names())
    assert len(report["probes"]) == 20 + len(held_out_names())

    text = StringIO()
    call_command("policy_baseline", "--copy-probe", "--policy", str(tiny_policy), stdout=text)
    assert "copied greedily" in text.getvalue() and "held_out" in text.getvalue()

    with pytest.raises(CommandError, match="not a policy checkpoint"):
        call_command("policy_baseline", "--copy-probe", "--policy", str(tiny_policy / "missing"))
