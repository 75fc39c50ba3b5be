"""Task variants: a task with the names it asks for renamed to fresh made-up names.

A variant id is ``<task_id>~<n>``: the same intent, OS and shell, with every alphabetic
piece of a terminal task's arguments renamed by a generator seeded with ``n`` (case style,
digits, separators and file extensions kept), or a multi-step task's package directory. It
is an ordinary task id: ``task_get``, ``verify`` and the reward service accept it, and the
same id always means the same variant.

Why: the train split has only a few argument values per (intent, shell). Training on them
alone lets a small policy memorise "ls src" instead of learning to copy the argument, which
is exactly what the held-out split (other arguments) then punishes. The SFT corpus renames
arguments for that reason (``training.policy.corpus.rename_arguments``); RL rollouts draw
variants for the same one.

A multi-step task's directory is the same kind of argument: RL on the train split alone
taught v0 to answer "mkdir core" (its most frequent package) whatever the prompt asked for.
Code-edit tasks have no variants: their hidden tests fix the names.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace

from training.environment.code_tasks import CodeSpec, with_package
from training.environment.intents import fill
from training.environment.platforms import context_line
from training.environment.terminal import TerminalSpec

VARIANT_SEPARATOR = "~"
VARIANT_KINDS = frozenset({"terminal", "multi_step"})
"""Task kinds with variants (a code edit's hidden tests fix its names)."""
ALPHA_PIECE = re.compile(r"[A-Za-z]{2,}")
# Kept as they are when renaming: they carry meaning (file type), not identity.
KEEP_PIECES = frozenset({"md", "txt", "py", "log", "csv", "json", "yaml", "yml", "ini", "cfg", "bak", "db", "png", "toml"})
_SYLLABLES = tuple(c + v for c in "bdfgklmnprstvz" for v in "aeiou")


def variant_id(task_id: str, n: int) -> str:
    """The id of variant ``n`` of ``task_id`` (``n >= 0``)."""
    if n < 0:
        raise ValueError("variant numbers are >= 0")
    return f"{base_task_id(task_id)}{VARIANT_SEPARATOR}{n}"


def base_task_id(task_id: str) -> str:
    """The catalog task a (possibly variant) id derives from."""
    return task_id.split(VARIANT_SEPARATOR, 1)[0]


def split_variant_id(task_id: str) -> tuple[str, int | None]:
    """``"<base>~<n>"`` -> (base, n); a catalog id -> (id, None). Raises KeyError when malformed."""
    base, separator, number = task_id.partition(VARIANT_SEPARATOR)
    if not separator:
        return task_id, None
    if not number.isdigit():
        raise KeyError(f"unknown task id {task_id!r}: a variant number after {VARIANT_SEPARATOR!r} must be digits")
    return base, int(number)


NameDrawer = Callable[[random.Random], str]
"""Draws a fresh name from a random generator (``made_up_name``, or the bootstrap's vocabulary names)."""


def made_up_name(rng: random.Random) -> str:
    """A fresh lower-case name of 2-3 consonant-vowel syllables ("kedira")."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))


def renamed_piece(
    piece: str, pieces: dict[str, str], rng: random.Random, fresh_name: NameDrawer = made_up_name
) -> str:
    """A fresh name for one alphabetic piece, the same for every occurrence (``pieces`` remembers).

    ``fresh_name`` draws the name; an upper-case piece gets it upper-cased, a capitalised one
    capitalised, any other the name as drawn.
    """
    if piece.lower() in KEEP_PIECES:
        return piece
    if piece not in pieces:
        fresh = fresh_name(rng)
        pieces[piece] = fresh.upper() if piece.isupper() else fresh[:1].upper() + fresh[1:] if piece[0].isupper() else fresh
    return pieces[piece]


def terminal_variant(spec: TerminalSpec, n: int) -> TerminalSpec:
    """Variant ``n`` of a terminal spec: arguments renamed consistently, prompt rebuilt from them.

    Pieces shared between arguments (``src`` in ``src/utils`` and its parent ``src``) get the
    same new name, so the arguments stay consistent with each other.
    """
    rng = random.Random(f"{spec.task.task_id}{VARIANT_SEPARATOR}{n}")
    pieces: dict[str, str] = {}
    params = tuple(
        (key, ALPHA_PIECE.sub(lambda m: renamed_piece(m.group(0), pieces, rng), value) if _is_argument(spec, value) else value)
        for key, value in spec.params
    )
    task = replace(
        spec.task,
        task_id=variant_id(spec.task.task_id, n),
        prompt=f"{context_line(spec.task.os, spec.task.shell)} {fill(spec.intent.instruction, dict(params))}",
    )
    return TerminalSpec(task=task, intent=spec.intent, params=params)


def multi_step_variant(spec: CodeSpec, n: int) -> CodeSpec:
    """Variant ``n`` of a multi-step spec: its package directory renamed (a task without one,
    "write_test", stays as it is but for the id)."""
    task_id = variant_id(spec.task.task_id, n)
    if spec.package is None:
        return replace(spec, task=replace(spec.task, task_id=task_id))
    return with_package(spec, task_id=task_id, package=made_up_name(random.Random(task_id)))


def _is_argument(spec: TerminalSpec, value: str) -> bool:
    """A parameter the prompt names as an argument (`backticked`); others (the phrasing of a
    question such as "Where am I?") are prose and stay as they are."""
    return f"`{value}`" in spec.task.prompt
