"""Preference pairs of known quality for reward-model tests, from the environment's references.

For a task, the "good" reference answer beats its flawed flavors (Linux commands on a
Windows shell, verbose, re-implemented helper), which is what mined telemetry ranks too.
"""
from __future__ import annotations

from telemetry.completions import text_fingerprint
from rewards.core.pairs import PreferencePair, prompt_split
from training.environment import reference_response, task_catalog

FLAWED: tuple[tuple[str, float], ...] = (("linux_biased", 1.5), ("verbose", 0.5), ("reimplement", 1.0))


def reference_pairs(*, limit: int | None = None, validation_share: float = 0.25, split: str = "train") -> list[PreferencePair]:
    """(good, flawed) pairs of the environment's ``split`` tasks, where the answers differ."""
    pairs = []
    for task in task_catalog(split=split):
        if task.kind == "multi_step":
            continue
        good = reference_response(task, flavor="good")
        fingerprint = text_fingerprint(task.prompt)
        for flavor, margin in FLAWED:
            flawed = reference_response(task, flavor=flavor)
            if flawed == good:
                continue
            pairs.append(PreferencePair(
                prompt_fingerprint=fingerprint, prompt=task.prompt, chosen=good, rejected=flawed, margin=margin,
                split=prompt_split(fingerprint, validation_share=validation_share, seed="tests"),
                chosen_request_ids=(f"{task.task_id}-good",), rejected_request_ids=(f"{task.task_id}-{flavor}",),
            ))
        if limit is not None and len(pairs) >= limit:
            break
    return pairs
