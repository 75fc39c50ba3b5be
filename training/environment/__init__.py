"""Coding-agent environment with objectively verified outcomes (pure Python, no Django).

Tasks (``task_catalog``) come in three kinds, all with short answers a tiny model can write:

* ``terminal``   - one shell intent in one OS/shell ("Windows, cmd.exe. Delete the file
  `old.log`."); the answer is usually a single ``$ command``. Judged against real per-shell
  command tables: ``ls`` is not a cmd command, ``rm -rf`` is not PowerShell, ``dir`` exists
  in GNU coreutils but not on macOS, ``&&`` is a parse error in Windows PowerShell 5.1.
* ``code_edit``  - write a 1-5 line Python function in a small repo with its own naming
  (snake_case/camelCase) and indentation (2/4), reusing the repo helper shown in the
  prompt (``normalize_text``, ``clamp``, ``safe_div``). Judged by hidden unit tests run in
  a sandboxed subprocess, plus ``ast`` style and reuse checks.
* ``multi_step`` - both: create the package directory then write the function, or write
  the function then run its tests with pytest, in a given OS/shell.

Response format - a sequence of actions, one per line or fenced block; anything else is
prose and is ignored::

    $ <command>              shell tool call, in the task's shell
    search: <query>          search tool call
    read: <path>             read_file tool call
    edit: <path>             edit_file tool call: the next fenced block becomes the file's
    ```python                body (the module's existing import of the helper is kept)
    <code>
    ```
    ```python ... ```        a fenced block with no edit: line edits the task's target file
    ```bash|cmd|powershell   a shell-language fence: each line is a shell tool call
    @<tool> <arguments>      any other tool by name (unknown tools fail: "unknown_tool")

Paths are repository-relative; absolute or ``..`` paths fail with "permission".

``verify(task, response)`` replays the actions and returns a ``Verdict``: success, every
tool call's outcome (with the error kind a product would log: invalid_for_shell,
unknown_tool, invalid_arguments, nonzero_exit, timeout, permission), hidden tests
passed/total, style and helper reuse, and detected hacks (``HACK_KINDS``). Hacks that fool
the check (hard-coded outputs, edited tests) keep ``success`` True: reward hacking is
possible here on purpose, and is reported for the rewarder to penalize.

``reference_response(task, flavor=...)`` produces answers of known quality: "good",
"linux_biased", "verbose", "reimplement" and "hack:<kind>" for each hack kind.
"""
from __future__ import annotations

from training.environment.catalog import task_catalog, task_get
from training.environment.hacks import HACK_KINDS
from training.environment.references import FLAVORS, reference_response
from training.environment.types import (
    OPERATING_SYSTEMS,
    SHELLS,
    TASK_KINDS,
    TOOL_ERROR_KINDS,
    Task,
    ToolCallOutcome,
    Verdict,
)
from training.environment.verify import verify

__all__ = [
    "FLAVORS",
    "HACK_KINDS",
    "OPERATING_SYSTEMS",
    "SHELLS",
    "TASK_KINDS",
    "TOOL_ERROR_KINDS",
    "Task",
    "ToolCallOutcome",
    "Verdict",
    "reference_response",
    "task_catalog",
    "task_get",
    "verify",
]
