"""Preference pairs: completions answering the same prompt, ranked by their product score.

Completions that share a prompt fingerprint (regenerations, other samples, other model
versions) form a prompt group. Within a group every two completions whose scores differ by
at least ``min_margin`` give a pair (higher score chosen); closer ones are ties and dropped.
Pairs are deduplicated on (prompt, chosen text, rejected text): the same two answers seen
many times make one pair, with the mean margin. The train/validation split is by prompt
group, so no prompt is on both sides.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rewards.core.config import MiningConfig

SPLITS: tuple[str, ...] = ("train", "validation")


@dataclass(frozen=True)
class ScoredCompletion:
    """One completion with text, as pairing needs it."""

    request_id: str
    prompt_fingerprint: str
    prompt: str
    response: str
    score: float
    model_version: str = ""


@dataclass(frozen=True)
class PreferencePair:
    prompt_fingerprint: str
    prompt: str
    chosen: str
    rejected: str
    margin: float
    """Product score of chosen minus rejected (>= min_margin), averaged over duplicates."""
    split: str
    chosen_request_ids: tuple[str, ...]
    rejected_request_ids: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "prompt_fingerprint": self.prompt_fingerprint, "prompt": self.prompt, "chosen": self.chosen,
            "rejected": self.rejected, "margin": self.margin, "split": self.split,
            "chosen_request_ids": list(self.chosen_request_ids), "rejected_request_ids": list(self.rejected_request_ids),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "PreferencePair":
        return cls(
            prompt_fingerprint=data["prompt_fingerprint"], prompt=data["prompt"], chosen=data["chosen"],
            rejected=data["rejected"], margin=float(data["margin"]), split=data["split"],
            chosen_request_ids=tuple(data.get("chosen_request_ids", ())),
            rejected_request_ids=tuple(data.get("rejected_request_ids", ())),
        )


def prompt_split(fingerprint: str, *, validation_share: float, seed: str) -> str:
    """"train" or "validation" for a whole prompt group, from a salted hash (stable across runs)."""
    digest = hashlib.sha256(f"{seed}:{fingerprint}".encode()).digest()
    return "validation" if int.from_bytes(digest[:8], "big") / 2**64 < validation_share else "train"


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Pairing:
    pairs: list[PreferencePair]
    ties_dropped: int
    """Answer pairs of one prompt closer than ``min_margin``."""
    duplicates_merged: int
    """Completions whose response repeated another of the same prompt (merged into one answer)."""
    groups: int
    """Prompt groups with at least two distinct answers."""


def preference_pairs(completions: Iterable[ScoredCompletion], config: MiningConfig) -> Pairing:
    """All pairs of all prompt groups, deduplicated, ties dropped; sorted for stable output."""
    groups: dict[str, list[ScoredCompletion]] = defaultdict(list)
    for completion in completions:
        groups[completion.prompt_fingerprint].append(completion)
    pairs: list[PreferencePair] = []
    ties = duplicates = contested = 0
    for fingerprint in sorted(groups):
        group_pairs, group_ties, group_duplicates, answers = _group_pairs(fingerprint, groups[fingerprint], config)
        pairs.extend(group_pairs)
        ties += group_ties
        duplicates += group_duplicates
        contested += int(answers >= 2)
    return Pairing(pairs=pairs, ties_dropped=ties, duplicates_merged=duplicates, groups=contested)


def _group_pairs(fingerprint: str, group: list[ScoredCompletion], config: MiningConfig) -> tuple[list[PreferencePair], int, int, int]:
    # Identical responses are one answer: average their scores first, so duplicates of a
    # response never pair with each other and count once against the others.
    by_text: dict[str, list[ScoredCompletion]] = defaultdict(list)
    for completion in group:
        by_text[_text_key(completion.response)].append(completion)
    answers = []
    for key in sorted(by_text):
        same = by_text[key]
        answers.append((sum(c.score for c in same) / len(same), same))
    split = prompt_split(fingerprint, validation_share=config.validation_share, seed=config.split_seed)
    prompt = group[0].prompt
    candidates = []
    ties = 0
    for i, (score_a, same_a) in enumerate(answers):
        for score_b, same_b in answers[i + 1:]:
            margin = abs(score_a - score_b)
            if margin < config.min_margin:
                ties += 1
                continue
            chosen, rejected = (same_a, same_b) if score_a > score_b else (same_b, same_a)
            candidates.append(PreferencePair(
                prompt_fingerprint=fingerprint, prompt=prompt, chosen=chosen[0].response, rejected=rejected[0].response,
                margin=round(margin, 6), split=split,
                chosen_request_ids=tuple(sorted(c.request_id for c in chosen)),
                rejected_request_ids=tuple(sorted(c.request_id for c in rejected)),
            ))
    candidates.sort(key=lambda pair: (-pair.margin, pair.chosen, pair.rejected))
    return candidates[: config.max_pairs_per_prompt], ties, len(group) - len(answers), len(answers)


def split_counts(pairs: Iterable[PreferencePair]) -> dict[str, int]:
    counts = dict.fromkeys(SPLITS, 0)
    for pair in pairs:
        counts[pair.split] += 1
    return counts
