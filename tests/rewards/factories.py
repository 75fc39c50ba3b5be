"""Preference pairs of known quality for reward-model tests (the environment's reference answers)."""
from __future__ import annotations

from rewards.core.pairs import PreferencePair
from rewards.core.reference_pairs import reference_pairs as _reference_pairs


def reference_pairs(*, limit: int | None = None, validation_share: float = 0.25, split: str = "train") -> list[PreferencePair]:
    return _reference_pairs(split=split, limit=limit, validation_share=validation_share, seed="tests")
