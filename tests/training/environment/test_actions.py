"""The response format: actions are recovered in order, prose is ignored."""
from __future__ import annotations

from training.environment.actions import (
    EditAction,
    ReadAction,
    SearchAction,
    ShellAction,
    UnknownToolAction,
    parse_response,
)


def test_actions_in_order_and_prose_ignored() -> None:
    response = (
        "I will look around first.\n"
        "search: safe_div\n"
        "read: utils.py\n"
        "$ mkdir reports\n"
        "edit: reports/stats.py\n"
        "```python\n"
        "def mean(values):\n"
        "    return 0\n"
        "```\n"
        "$ pytest -q\n"
        "@browse https://example.com\n"
        "Done.\n"
    )
    assert parse_response(response) == (
        SearchAction("safe_div"),
        ReadAction("utils.py"),
        ShellAction("mkdir reports"),
        EditAction("reports/stats.py", "def mean(values):\n    return 0"),
        ShellAction("pytest -q"),
        UnknownToolAction("browse", "https://example.com"),
    )


def test_bare_python_fence_edits_the_target_file() -> None:
    assert parse_response("```python\nx = 1\n```") == (EditAction(None, "x = 1"),)


def test_shell_fence_lines_are_shell_calls_and_prompt_prefixes_are_dropped() -> None:
    response = "```powershell\n# list them\nPS> Get-ChildItem src\n$ gci docs\n```"
    assert parse_response(response) == (ShellAction("Get-ChildItem src"), ShellAction("gci docs"))


def test_edit_without_block_and_unclosed_fence() -> None:
    assert parse_response("edit: a.py\n$ ls") == (EditAction("a.py", None), ShellAction("ls"))
    assert parse_response("```python\ndef f():\n    return 1") == (EditAction(None, "def f():\n    return 1"),)


def test_generic_tool_syntax_maps_known_tools() -> None:
    assert parse_response("@shell ls -la\n@search foo\n@read a.py") == (
        ShellAction("ls -la"),
        SearchAction("foo"),
        ReadAction("a.py"),
    )


def test_dollar_without_space_is_prose() -> None:
    assert parse_response("$env:PATH is what PowerShell uses") == ()
