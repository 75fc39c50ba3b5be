"""Copy probe: can a policy copy a `backticked` argument from the prompt into its command?

Held-out terminal tasks name arguments the train split never uses, so a policy solves them
only by copying. The probe asks for ``mkdir <name>`` and measures, teacher-forced, the loss
of the name's first token (found by matching the same token in the prompt) apart from its
later tokens (each found by matching the token before it: an induction step), plus whether
the greedy answer writes the name. It separates the two on made-up names like RL's task variants'
renamed arguments and on the eval split's real arguments, which tokenize into other pieces.
"""
from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.policy.corpus import BACKTICKED
from training.policy.generate import policy_generate
from training.policy.tokenizer import chat_prompt

PROBE_PROMPT = "Linux, bash. Create a directory named `{name}`."
PROBE_COMMAND = "$ mkdir"


@dataclass(frozen=True)
class CopyProbe:
    """One name asked for and how the policy copies it."""

    name: str
    group: str
    """Which list the name came from (e.g. "made_up", "held_out")."""
    tokens: tuple[str, ...]
    """The name's tokens in the answer."""
    first_token_nll: float
    """Teacher-forced negative log-likelihood (nats) of the name's first token."""
    later_tokens_nll: float | None
    """Mean NLL of the name's other tokens; None for a one-token name."""
    copied: bool
    """The greedy answer writes exactly ``$ mkdir <name>``."""


def copy_probe(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, names: Mapping[str, Sequence[str]]
) -> list[CopyProbe]:
    """Probe every name of every group (``{group: names}``), in order."""
    probes: list[CopyProbe] = []
    command_ids = tokenizer(PROBE_COMMAND, add_special_tokens=False)["input_ids"]
    for group, group_names in names.items():
        prompts = [chat_prompt(tokenizer, [{"role": "user", "content": PROBE_PROMPT.format(name=n)}]) for n in group_names]
        answers = policy_generate(model, tokenizer, prompts, max_new_tokens=24, temperature=0.0) if prompts else []
        for name, prompt, answer in zip(group_names, prompts, answers):
            prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            answer_ids = tokenizer(f"{PROBE_COMMAND} {name}", add_special_tokens=False)["input_ids"]
            if answer_ids[: len(command_ids)] != command_ids:
                raise ValueError(f"{PROBE_COMMAND!r} tokenizes differently before {name!r}; the probe needs a clean boundary")
            nll = answer_nll(model, prompt_ids, answer_ids)[len(command_ids):]
            probes.append(CopyProbe(
                name=name,
                group=group,
                tokens=tuple(tokenizer.convert_ids_to_tokens(answer_ids[len(command_ids):])),
                first_token_nll=nll[0],
                later_tokens_nll=sum(nll[1:]) / len(nll[1:]) if len(nll) > 1 else None,
                copied=answer.text.strip() == f"{PROBE_COMMAND} {name}",
            ))
    return probes


def answer_nll(model: PreTrainedModel, prompt_ids: Sequence[int], answer_ids: Sequence[int]) -> list[float]:
    """Teacher-forced NLL (nats) of each answer token after the prompt: [len(answer_ids)]."""
    ids = torch.tensor([list(prompt_ids) + list(answer_ids)], device=model.device)
    with torch.no_grad():
        log_probs = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
    positions = range(len(prompt_ids) - 1, len(prompt_ids) + len(answer_ids) - 1)
    return [-log_probs[pos, token].item() for pos, token in zip(positions, answer_ids)]


def copy_summary(probes: Sequence[CopyProbe]) -> dict[str, dict[str, float | int | None]]:
    """Per group: names, share copied, mean first-token NLL and mean later-token NLL."""
    summary: dict[str, dict[str, float | int | None]] = {}
    for group in dict.fromkeys(p.group for p in probes):
        rows = [p for p in probes if p.group == group]
        later = [p.later_tokens_nll for p in rows if p.later_tokens_nll is not None]
        summary[group] = {
            "names": len(rows),
            "copied": sum(p.copied for p in rows) / len(rows),
            "first_token_nll": sum(p.first_token_nll for p in rows) / len(rows),
            "later_tokens_nll": sum(later) / len(later) if later else None,
        }
    return summary


def held_out_names(split: str = "eval") -> list[str]:
    """Distinct one-word arguments (letters, digits, ``_.-``) of the split's terminal tasks, sorted."""
    from training.environment import task_catalog

    names = {arg for task in task_catalog(split=split) if task.kind == "terminal" for arg in BACKTICKED.findall(task.prompt)}
    return sorted(n for n in names if re.fullmatch(r"[A-Za-z][\w.-]*", n))


def made_up_names(count: int, *, seed: int = 0) -> list[str]:
    """``count`` fresh names built like RL's task variants' renamed arguments (2-3 syllables)."""
    from training.environment.variants import made_up_name

    rng = random.Random(seed)
    return [made_up_name(rng) for _ in range(count)]
