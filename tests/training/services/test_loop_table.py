"""The before/after table says when both windows were served by the same version."""
from __future__ import annotations

from training.services.loop import HEADLINE, before_after_table


def _window(version: str, value: float) -> dict:
    return {"version": version, **{key: {"value": value, "low": value - 0.1, "high": value + 0.1} for key, _ in HEADLINE}}


def _cycle(before: str, after: str, passed: bool) -> dict:
    return {"cycle": 1, "candidate": "v1", "gate": {"passed": passed}, "canary": None,
            "before": _window(before, 0.4), "after": _window(after, 0.5)}


def test_a_refused_candidate_leaves_the_same_version_in_both_windows_and_the_table_says_so():
    table = before_after_table([_cycle("v0", "v0", passed=False)])
    assert "v0 served both windows" in table and "gate refused" in table
    assert "+25.0%" in table  # the change is still shown, next to the warning


def test_a_promoted_candidate_gets_no_warning():
    table = before_after_table([_cycle("v0", "v1", passed=True)])
    assert "served both windows" not in table and "v0 before -> v1 after" in table
