"""The deliberately imperfect SFT corpus for the base policy, and the prompt format.

``task_messages`` is THE prompt format of the policy: bootstrap, evaluation and RL rollouts
must all render tasks through it, or the policy is asked questions in a dialect it never saw.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from training.environment.variants import ALPHA_PIECE, NameDrawer, made_up_name, renamed_piece
from training.policy.config import CorpusMix

WINDOWS_SHELLS = frozenset({"powershell", "pwsh", "cmd", "cmd.exe"})
BACKTICKED = re.compile(r"`([^`\n]+)`")


class TaskLike(Protocol):
    """The fields of ``training.environment.Task`` that the policy reads."""

    task_id: str
    kind: str
    prompt: str
    os: str
    shell: str
    language: str


@dataclass(frozen=True)
class SFTExample:
    """One supervised example: the chat messages and the assistant's answer."""

    task_id: str
    flavor: str
    """Reference-response flavor actually used (after fallbacks)."""
    messages: tuple[dict[str, str], ...]
    """Conversation up to, not including, the assistant turn (see ``task_messages``)."""
    response: str
    """Assistant turn content, the only tokens the loss is computed on."""


def task_messages(task: TaskLike) -> list[dict[str, str]]:
    """Chat messages for a task: the prompt as the user turn.

    The environment's prompt already names the OS and shell ("Windows, cmd.exe. ..."), which
    is what lets a policy learn that ``dir`` and ``ls`` are right in different places.
    """
    return [{"role": "user", "content": task.prompt}]


def is_windows_shell(task: TaskLike) -> bool:
    """True for tasks whose commands run in a Windows shell (PowerShell, cmd)."""
    return str(task.shell).lower() in WINDOWS_SHELLS or str(task.os).lower() == "windows"


def corpus_flavor(task: TaskLike, *, mix: CorpusMix, rng: random.Random) -> str:
    """Draw the reference-response flavor for one example of ``task``."""
    if task.kind == "terminal" and is_windows_shell(task):
        return "linux_biased" if rng.random() < mix.windows_linux_biased else "good"
    flavors, weights = zip(*mix.general)
    return rng.choices(flavors, weights=weights, k=1)[0]


def corpus_build(
    tasks: Sequence[TaskLike],
    *,
    mix: CorpusMix,
    samples_per_task: int,
    seed: int,
    respond: Callable[[TaskLike, str], str],
    rename_share: float = 0.0,
    fresh_name: NameDrawer = made_up_name,
) -> list[SFTExample]:
    """``samples_per_task`` examples per task, each with its own flavor draw.

    ``respond(task, flavor)`` is the environment's ``reference_response``; a flavor it rejects
    for a task (``ValueError``/``KeyError``, e.g. "reimplement" for a shell task) falls back
    to "good" so the corpus keeps every task. A ``rename_share`` of terminal examples get
    their arguments renamed (see ``rename_arguments``), to names ``fresh_name`` draws.
    """
    rng = random.Random(seed)
    examples: list[SFTExample] = []
    for task in tasks:
        for _ in range(samples_per_task):
            flavor = corpus_flavor(task, mix=mix, rng=rng)
            try:
                response = respond(task, flavor)
            except (ValueError, KeyError):
                flavor, response = "good", respond(task, "good")
            messages = task_messages(task)
            if task.kind == "terminal" and rng.random() < rename_share:
                messages[-1]["content"], response = rename_arguments(
                    messages[-1]["content"], response, rng, fresh_name=fresh_name
                )
            examples.append(
                SFTExample(task_id=task.task_id, flavor=flavor, messages=tuple(messages), response=response)
            )
    return examples


def rename_arguments(
    prompt: str, response: str, rng: random.Random, *, fresh_name: NameDrawer = made_up_name
) -> tuple[str, str]:
    """Rename the `backticked` arguments of a prompt, consistently in prompt and response.

    Why: each (intent, shell) pair has only a couple of argument values in the train split,
    and the eval split holds out others, so without this a small model memorises
    "ls src" instead of learning to copy the argument. Only alphabetic pieces of 2+ letters
    are renamed, to names ``fresh_name`` draws (an upper-case or capitalised piece keeps its
    style; digits, separators and file extensions are kept), and only
    arguments that the response uses verbatim (or with backslashes for slashes) -- so the
    answer keeps its command (right or wrong for the shell) and only its names change.
    """
    # Sorted by (length desc, text): never iterate a set here, string hashing differs per
    # process and would change which fresh name each argument gets.
    args = sorted({a for a in BACKTICKED.findall(prompt) if _occurs(a, response)}, key=lambda a: (-len(a), a))
    if not args:
        return prompt, response
    pieces: dict[str, str] = {}

    def rename(arg: str) -> str:
        return ALPHA_PIECE.sub(lambda m: renamed_piece(m.group(0), pieces, rng, fresh_name), arg)

    for arg in args:
        new = rename(arg)
        prompt = prompt.replace(f"`{arg}`", f"`{new}`")
        for old_form, new_form in dict.fromkeys([(arg, new), (arg.replace("/", "\\"), new.replace("/", "\\"))]):
            response = re.sub(rf"(?<![\w/.-]){re.escape(old_form)}(?![\w-])", lambda _: new_form, response)
    return prompt, response


def _occurs(arg: str, response: str) -> bool:
    return arg in response or arg.replace("/", "\\") in response


def corpus_from_environment(
    *,
    mix: CorpusMix,
    samples_per_task: int,
    seed: int,
    rename_share: float = 0.0,
    fresh_name: NameDrawer = made_up_name,
) -> list[SFTExample]:
    """The bootstrap corpus from the environment's train split (never the eval split)."""
    from training.environment import reference_response, task_catalog

    return corpus_build(
        task_catalog(split="train"),
        mix=mix,
        samples_per_task=samples_per_task,
        seed=seed,
        respond=lambda task, flavor: reference_response(task, flavor=flavor),
        rename_share=rename_share,
        fresh_name=fresh_name,
    )


def vocabulary_name(words: Sequence[str], rng: random.Random, *, max_pieces: int) -> str:
    """A fresh name of 1 to ``max_pieces`` words drawn from ``words`` (``tokenizer_words``)."""
    return "".join(rng.choice(words) for _ in range(rng.randint(1, max_pieces)))


def corpus_flavor_counts(examples: Sequence[SFTExample]) -> dict[str, int]:
    """{flavor: examples} — recorded in ``flywheel_policy.json``."""
    return dict(sorted(Counter(example.flavor for example in examples).items()))
