"""How a simulated user reacts to the model's answer: objectively, from the verdict.

Definitions (documented in the package docstring too):

* **Shown**: a response that writes code (``Verdict.code`` is not None) is shown as a
  suggestion; terminal answers are not suggestions.
* **Accepted**: the suggestion's code compiles and its tests ran (``Verdict.test_error_kind``
  is None: no syntax error, crash or hang), whether or not they passed. Otherwise rejected.
* **Fate of accepted code** (what retention measures):

  - tests all pass, repo style kept and the helper reused -> **kept** (100% at every T);
  - tests all pass but the style is off or the helper was re-implemented -> **style-fixed**:
    at a time drawn uniformly in [20 s, 15 min] after acceptance the user rewrites it into
    the repo's idiom (the environment's "good" answer for the task); from then on the
    retained characters are those of the original that survive in the rewrite (longest
    common subsequence, ``telemetry.metrics.retention_from_content``);
  - tests fail -> **deleted**: at a time drawn uniformly in [10 s, 7 min] the user deletes
    it (0 characters retained).

  Before the change the code is intact. Retention is measured at 30 s, 2 min, 5 min, 10 min
  and 1 h after acceptance (plus up to 5 s of jitter, never crossing into the next T).
* **Feedback**: 12% of tasks get an explicit rating: up when the task succeeded, else down.
* **Task outcome**: ``task.finished`` is "success" iff ``Verdict.success``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from telemetry.metrics import RETENTION_CHECKPOINTS_S, retention_from_content
from training.environment import Verdict

STYLE_FIX_WINDOW_S = (20.0, 900.0)
DELETE_WINDOW_S = (10.0, 420.0)
CHECK_JITTER_S = 5.0
FEEDBACK_RATE = 0.12
FATES: tuple[str, ...] = ("kept", "style_fixed", "deleted")


def is_suggestion(verdict: Verdict) -> bool:
    return verdict.code is not None


def is_accepted(verdict: Verdict) -> bool:
    """Accepted iff the code compiles and its tests ran (see module docstring)."""
    return verdict.code is not None and verdict.test_error_kind is None


def all_tests_pass(verdict: Verdict) -> bool:
    return verdict.tests_total > 0 and verdict.tests_passed == verdict.tests_total


@dataclass(frozen=True)
class CodeFate:
    """What happens to accepted code: ``fate`` in FATES, at ``change_at_s`` after acceptance."""

    fate: str
    original: str
    final: str
    """The code after the change ("" when deleted; the original when kept)."""
    change_at_s: float | None

    def code_at(self, elapsed_s: float) -> str:
        """The inserted region's content ``elapsed_s`` after acceptance."""
        if self.change_at_s is None or elapsed_s < self.change_at_s:
            return self.original
        return self.final


def code_fate(verdict: Verdict, *, idiomatic_code: str, rng: random.Random) -> CodeFate:
    """The fate of accepted code (``is_accepted(verdict)`` must hold)."""
    code = verdict.code or ""
    if not all_tests_pass(verdict):
        return CodeFate("deleted", code, "", rng.uniform(*DELETE_WINDOW_S))
    if verdict.style_ok and verdict.reused_helper:
        return CodeFate("kept", code, code, None)
    return CodeFate("style_fixed", code, idiomatic_code, rng.uniform(*STYLE_FIX_WINDOW_S))


def retention_checks(rng: random.Random) -> list[tuple[int, float]]:
    """(checkpoint T, elapsed seconds of the measurement) for every T."""
    return [(t, t + rng.uniform(0.0, CHECK_JITTER_S)) for t in RETENTION_CHECKPOINTS_S]


def retained_count(original: str, current: str) -> int:
    """Characters of ``original`` still present in ``current`` (the plugin's own count)."""
    if not current:
        return 0
    return retention_from_content(original=original, current=current).retained_chars


def feedback_rating(verdict: Verdict, rng: random.Random) -> str | None:
    """"up"/"down" for the share of tasks that get explicit feedback, else None."""
    if rng.random() >= FEEDBACK_RATE:
        return None
    return "up" if verdict.success else "down"
