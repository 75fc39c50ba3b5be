"""Trajectory parsing: action text, chat messages with tool calls, diffs and validation."""
from __future__ import annotations

import json

import pytest

from rewards.core.trajectory import TrajectoryError, parse_trajectory, parse_unified_diff, task_id_of

DIFF = """diff --git a/tests/test_a.py b/tests/test_a.py
--- a/tests/test_a.py
+++ b/tests/test_a.py
@@ -1,4 +1,3 @@
 def test_add():
-    assert add(1, 2) == 3
+    pass
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1 +0,0 @@
-x = 1
"""


def test_action_text_trajectory():
    t = parse_trajectory({"prompt": "p", "response": "$ ls\nsearch: foo\nread: a.py\nedit: a.py\n```python\nx = 1\n```",
                          "usage": {"completion_tokens": 12}, "task": {"task_id": "t-1"}})
    assert [c.kind for c in t.calls] == ["shell", "search", "read", "edit"]
    assert t.output_tokens == 12 and t.task_id == "t-1"
    assert t.action_text.startswith("$ ls")


def test_chat_messages_with_tool_calls_render_to_action_text():
    messages = [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": [{"type": "text", "text": "Fix add()"}]},
        {"role": "assistant", "content": "Looking.", "tool_calls": [
            {"id": "1", "type": "function", "function": {"name": "Bash", "arguments": json.dumps({"command": "pytest -q"})}},
            {"id": "2", "type": "function", "function": {"name": "Write", "arguments": json.dumps({"file_path": "m.py", "content": "def add(a, b):\n    return a + b\n"})}},
            {"id": "3", "type": "function", "function": {"name": "Edit", "arguments": json.dumps({"file_path": "m.py", "old_string": "a + b", "new_string": "b + a"})}},
        ]},
        {"role": "tool", "tool_call_id": "1", "content": "1 failed"},
    ]
    t = parse_trajectory({"messages": messages, "tests": {"passed": 1, "total": 1}})
    assert "Fix add()" in t.prompt and "coding agent" in t.prompt
    assert t.tool_results == ("1 failed",)
    assert "$ pytest -q" in t.action_text
    assert "return b + a" in t.action_text  # the replacement applied to the written file
    assert t.tests.passed == 1


def test_unified_diff():
    changed, deleted = parse_unified_diff(DIFF)
    assert changed.new_path == "tests/test_a.py" and changed.removed == ("    assert add(1, 2) == 3",)
    assert changed.added == ("    pass",)
    assert deleted.old_path == "old.py" and deleted.new_path is None


@pytest.mark.parametrize("value,expected", [("t-1", "t-1"), ('{"task_id": "t-2"}', "t-2"), ({"task_id": "t-3"}, "t-3"),
                                            (None, None), ("", None)])
def test_task_forms(value, expected):
    assert task_id_of(value) == expected


@pytest.mark.parametrize("payload,field", [
    ([], "trajectory"),
    ({"prompt": "p"}, "response"),
    ({"messages": "x"}, "messages"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": ""}}]}]}, "messages[0].tool_calls[0].function.name"),
    ({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "Bash", "arguments": "[1]"}}]}]},
     "messages[0].tool_calls[0].function.arguments"),
    ({"prompt": "p", "response": "r", "diff": 3}, "diff"),
    ({"prompt": "p", "response": "r", "task": '{"task_id": '}, "task"),
    ({"prompt": "p", "response": "r", "task": '{"a":' * 50_000 + "1" + "}" * 50_000}, "task"),  # too deep to decode
    ({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "Bash", "arguments": "[" * 50_000}}]}]},
     "messages[0].tool_calls[0].function.arguments"),
    ({"prompt": "p", "response": "r", "tests": {"passed": True, "total": 1}}, "tests.passed"),
])
def test_invalid_payloads_name_the_field(payload, field):
    with pytest.raises(TrajectoryError) as error:
        parse_trajectory(payload)
    assert error.value.field == field and not error.value.too_large


def test_oversize_text_is_too_large():
    with pytest.raises(TrajectoryError) as error:
        parse_trajectory({"prompt": "p" * 200_001, "response": ""})
    assert error.value.too_large
