"""Agents' tool names and arguments map to canonical actions."""
from __future__ import annotations

import pytest

from rewards.core.tools import ToolArgumentsError, map_tool_call, map_tool_text


@pytest.mark.parametrize("tool,arguments,kind,field,value", [
    ("Bash", {"command": "git status", "description": "status"}, "shell", "command", "git status"),
    ("Read", {"file_path": "/repo/a.py", "offset": 1}, "read", "path", "/repo/a.py"),
    ("Write", {"file_path": "a.py", "content": "x = 1\n"}, "edit", "content", "x = 1\n"),
    ("Edit", {"file_path": "a.py", "old_string": "x", "new_string": "y"}, "edit", "new", "y"),
    ("Grep", {"pattern": "def main", "path": "src"}, "search", "query", "def main"),
    ("Glob", {"pattern": "**/*.py"}, "search", "query", "**/*.py"),
    ("WebFetch", {"url": "https://example.com", "prompt": "summarize"}, "fetch", "url", "https://example.com"),
    ("WebSearch", {"query": "python docs"}, "fetch", "query", "python docs"),
    ("run_shell_command", {"command": "ls", "directory": "."}, "shell", "command", "ls"),
    ("replace", {"file_path": "a.py", "old_string": "a", "new_string": "b", "expected_replacements": 1}, "edit", "new", "b"),
    ("write_file", {"file_path": "a.py", "content": "pass"}, "edit", "content", "pass"),
    ("read_file", {"absolute_path": "/repo/a.py"}, "read", "path", "/repo/a.py"),
    ("search_file_content", {"pattern": "TODO", "include": "*.py"}, "search", "query", "TODO"),
    ("grep_search", {"pattern": "TODO"}, "search", "query", "TODO"),
    ("web_fetch", {"prompt": "Summarize https://example.com/a"}, "fetch", "url", "Summarize https://example.com/a"),
    ("google_web_search", {"query": "x"}, "fetch", "query", "x"),
    ("edit", {"file_path": "a.py", "old_string": "a", "new_string": "b"}, "edit", "old", "a"),
    ("shell", {"command": ["bash", "-lc", "git log --all"]}, "shell", "command", "bash -lc 'git log --all'"),
    ("edit_file", {"path": "a.py", "code": "pass"}, "edit", "content", "pass"),
    ("TodoWrite", {"todos": []}, "other", "tool", "TodoWrite"),
    ("some_new_tool", {"x": 1}, "other", "tool", "some_new_tool"),
])
def test_tool_mapping(tool, arguments, kind, field, value):
    [call] = map_tool_call(tool, arguments)
    assert call.kind == kind
    assert getattr(call, field) == value


def test_multi_edit_gives_one_call_per_edit():
    calls = map_tool_call("MultiEdit", {"file_path": "t.py", "edits": [{"old_string": "a", "new_string": "b"},
                                                                       {"old_string": "c", "new_string": "d"}]})
    assert [(c.path, c.old, c.new) for c in calls] == [("t.py", "a", "b"), ("t.py", "c", "d")]


def test_read_many_files_reads_each():
    assert [c.path for c in map_tool_call("read_many_files", {"paths": ["a", "b"]})] == ["a", "b"]


def test_wrong_argument_types_are_reported():
    with pytest.raises(ToolArgumentsError, match="command"):
        map_tool_call("Bash", {"command": 5})
    with pytest.raises(ToolArgumentsError, match="edits"):
        map_tool_call("MultiEdit", {"file_path": "a", "edits": "x"})


def test_environment_at_tool_lines():
    assert map_tool_text("WebFetch", "https://x.org")[0].kind == "fetch"
    assert map_tool_text("Bash", "ls")[0].command == "ls"
