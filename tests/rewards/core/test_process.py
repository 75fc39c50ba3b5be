"""Process terms from a unified diff when no task is known."""
from __future__ import annotations

from rewards.core.process import diff_helpers_reused, diff_style_kept
from rewards.core.scoring import ScoringConfig, score_trajectories
from rewards.core.trajectory import parse_unified_diff

CAMEL_REPO = """--- a/stats.py
+++ b/stats.py
@@ -1,6 +1,10 @@
 from utils import safeDiv
 
 def meanValue(values):
   total = sum(values)
   return safeDiv(total, len(values))
+
+{added}
"""


def diff_with(added: str):
    return parse_unified_diff(CAMEL_REPO.replace("{added}", "\n".join("+" + line for line in added.splitlines())[1:]))


def test_keeping_the_repo_style_and_helper():
    diff = diff_with("def ratioOf(part, whole):\n  return safeDiv(part, whole)")
    assert diff_style_kept(diff) is True
    assert diff_helpers_reused(diff) is True


def test_breaking_the_style_and_reimplementing_the_helper():
    diff = diff_with("def ratio_of(part, whole):\n    return part / whole if whole else 0\n\ndef safeDiv(a, b):\n    return a / b")
    assert diff_style_kept(diff) is False
    assert diff_helpers_reused(diff) is False


def test_scorer_uses_the_diff_without_a_task():
    diff_text = CAMEL_REPO.replace("{added}", "def ratioOf(part, whole):\n+  return safeDiv(part, whole)")
    [result] = score_trajectories([{"prompt": "add ratioOf", "response": "done", "diff": diff_text}], config=ScoringConfig())
    assert result.components["style"].value == 1.0 and result.components["reuse"].value == 1.0
    assert "diff" in result.components["style"].detail


def test_a_diff_without_python_says_unavailable():
    assert diff_style_kept(parse_unified_diff("--- a/x.md\n+++ b/x.md\n@@ -1 +1 @@\n-a\n+b\n")) is None
