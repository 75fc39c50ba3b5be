"""Metric maths, exactly as docs/metrics.md defines them (pure, no Django).

- Code retention at T: of the characters the model inserted and the user accepted, the
  share still present T after acceptance. "Unchanged" = identical; "mostly unchanged" =
  edit distance below 33% of the original length.
- Tool-call error rate: failed tool calls / all tool calls.
- Tokens per task: input + output + cache tokens of finished tasks / finished tasks.
- Acceptance rate: accepted / (accepted + rejected) suggestions.
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import Indel, Levenshtein
from rapidfuzz.fuzz import partial_ratio_alignment

RETENTION_CHECKPOINTS_S: tuple[int, ...] = (30, 120, 300, 600, 3600)
MOSTLY_UNCHANGED_MAX_EDIT_SHARE = 0.33


@dataclass(frozen=True)
class RetentionMeasure:
    retained_chars: int
    total_chars: int
    unchanged: bool
    mostly_unchanged: bool


def retention_checkpoint(elapsed_s: float) -> int | None:
    """The checkpoint T a measurement taken ``elapsed_s`` after acceptance counts for.

    That is the largest T with T <= elapsed_s; measurements before 30 s count for none.
    """
    eligible = [t for t in RETENTION_CHECKPOINTS_S if t <= elapsed_s]
    return eligible[-1] if eligible else None


def is_mostly_unchanged(edit_distance: int, original_chars: int) -> bool:
    return edit_distance < MOSTLY_UNCHANGED_MAX_EDIT_SHARE * original_chars


def retention_from_counts(*, retained_chars: int, total_chars: int) -> RetentionMeasure:
    """A client-reported count. Deleted characters are the edit distance's lower bound."""
    deleted = total_chars - retained_chars
    return RetentionMeasure(
        retained_chars=retained_chars,
        total_chars=total_chars,
        unchanged=deleted == 0,
        mostly_unchanged=is_mostly_unchanged(deleted, total_chars),
    )


def retention_from_content(*, original: str, current: str) -> RetentionMeasure:
    """Compare the inserted text with the file content observed later.

    The region of ``current`` that best aligns with ``original`` stands for the insertion;
    retained characters are the longest common subsequence of the two, and "mostly
    unchanged" uses the Levenshtein distance between them.
    """
    if not original:
        return RetentionMeasure(0, 0, True, True)
    region = current
    if len(current) > len(original):
        alignment = partial_ratio_alignment(original, current)
        if alignment is not None and alignment.score > 0:
            # Widen the aligned window by what may have been inserted inside it.
            slack = len(original) // 2
            region = current[max(0, alignment.dest_start - slack): alignment.dest_end + slack]
            region = _tightest_region(original, region)
    common = (len(original) + len(region) - Indel.distance(original, region)) // 2
    distance = Levenshtein.distance(original, region)
    return RetentionMeasure(
        retained_chars=common,
        total_chars=len(original),
        unchanged=original in current,
        mostly_unchanged=original in current or is_mostly_unchanged(distance, len(original)),
    )


def _tightest_region(original: str, window: str) -> str:
    """Trim the window's ends while doing so does not lose common characters."""
    best = window
    best_common = len(original) + len(window) - Indel.distance(original, window)
    start, end = 0, len(window)
    while start < end and window[start] != original[0] and (
        len(original) + (end - start - 1) - Indel.distance(original, window[start + 1:end]) >= best_common
    ):
        start += 1
    while end > start and window[end - 1] != original[-1] and (
        len(original) + (end - 1 - start) - Indel.distance(original, window[start:end - 1]) >= best_common
    ):
        end -= 1
    best = window[start:end]
    return best


def safe_ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None
