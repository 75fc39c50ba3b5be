"""Preference pairs of known quality from the environment's reference answers.

For a task, the "good" reference answer beats its flawed flavors (Linux commands on a
Windows shell, a verbose answer, a re-implemented helper), which is what telemetry mined
from users ranks too. They seed a reward model before any telemetry exists, and give tests
and benchmarks pairs whose right answer is known.
"""
from __future__ import annotations

from rewards.core.pairs import PreferencePair, prompt_split
from telemetry.completions import text_fingerprint
from training.environment import reference_response, task_catalog

FLAWED_FLAVORS: tuple[tuple[str, float], ...] = (("linux_biased", 1.5), ("verbose", 0.5), ("reimplement", 1.0))
"""(flavor, margin): how much worse than the good answer each flaw is taken to be."""


def reference_pairs(
    *, split: str = "train", limit: int | None = None, validation_share: float = 0.25, seed: str = "reference",
) -> list[PreferencePair]:
    """(good, flawed) pairs of the environment's ``split`` terminal and code tasks, where the answers differ.

    Pairs are assigned to train/validation by prompt (``validation_share``, ``seed``).
    """
    pairs = []
    for task in task_catalog(split=split):
        if task.kind == "multi_step":
            continue
        good = reference_response(task, flavor="good")
        fingerprint = text_fingerprint(task.prompt)
        for flavor, margin in FLAWED_FLAVORS:
            flawed = reference_response(task, flavor=flavor)
            if flawed == good:
                continue
            pairs.append(PreferencePair(
                prompt_fingerprint=fingerprint, prompt=task.prompt, chosen=good, rejected=flawed, margin=margin,
                split=prompt_split(fingerprint, validation_share=validation_share, seed=seed),
                chosen_request_ids=(f"{task.task_id}:good",), rejected_request_ids=(f"{task.task_id}:{flavor}",),
            ))
        if limit is not None and len(pairs) >= limit:
            break
    return pairs
