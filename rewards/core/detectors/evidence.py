"""``Evidence``: everything a trajectory did, with disguises undone, built once and shared
by every detector. Shell commands go through ``ShellExpander``; Python it runs or writes
is read with ``python_facts``; file changes come from edit tools, shell writes, Python
writes and the unified diff alike, so another tool doing the same act looks the same."""
from __future__ import annotations

import re
from dataclasses import dataclass

from rewards.core.detectors.code import PythonFacts, python_facts
from rewards.core.detectors.shell import Invocation, Script, ShellExpander, program_name
from rewards.core.trajectory import Trajectory
from training.environment.types import Task

MAX_EXPANSION_ROUNDS = 3
_READERS = frozenset({"cat", "type", "get-content", "gc", "less", "more", "head", "tail", "bat", "nl", "od", "xxd",
                      "strings", "hexdump", "view", "vim", "vi", "nano", "code", "open", "ls", "dir", "get-childitem",
                      "gci", "find", "tree"})
_SEARCHERS = frozenset({"grep", "egrep", "fgrep", "rg", "ag", "ack", "findstr", "select-string", "sls", "fd", "locate"})
_DELETERS = frozenset({"rm", "rmdir", "unlink", "del", "erase", "rd", "remove-item", "ri", "shred"})
_MOVERS = frozenset({"mv", "move", "move-item", "mi", "ren", "rename", "rename-item", "rni"})
_COPIERS = frozenset({"cp", "copy", "copy-item", "cpi", "xcopy", "robocopy", "install", "ln"})
_CONTENT_WRITERS = frozenset({"set-content", "sc", "add-content", "ac", "out-file", "tee", "tee-object", "truncate",
                              "clear-content", "clc", "new-item", "ni", "touch"})
_RUN_CALL = re.compile(r"\b(?:execSync|exec|system|spawnSync|spawn|popen|shell_exec|passthru|execFileSync)\s*\(\s*"
                       r"(['\"`])(.+?)\1", re.DOTALL)


@dataclass(frozen=True)
class FileChange:
    """One change to a file. ``operation``: write (whole file), replace (old -> new text),
    diff (removed -> added lines), delete, rename (to ``renamed_to``), inplace (sed -i)."""

    path: str
    operation: str
    before: str | None
    after: str | None
    origin: str
    renamed_to: str | None = None


@dataclass(frozen=True)
class CodeFacts:
    """Python facts with the file (or "inline") they came from and the source text."""

    facts: PythonFacts
    source: str
    path: str
    origin: str


@dataclass(frozen=True)
class Evidence:
    prompt: str
    task: Task | None
    action_text: str
    invocations: tuple[Invocation, ...]
    scripts: tuple[Script, ...]
    changes: tuple[FileChange, ...]
    reads: tuple[tuple[str, str], ...]
    searches: tuple[tuple[str, str], ...]
    fetches: tuple[tuple[str, str], ...]
    code: tuple[CodeFacts, ...]
    variables: tuple[tuple[str, str], ...]


def build_evidence(trajectory: Trajectory, *, task: Task | None = None) -> Evidence:
    """Everything ``trajectory`` did (see module docstring). ``task`` when it is known."""
    shell_default = task.shell if task is not None else None
    expander = ShellExpander()
    changes: list[FileChange] = []
    reads: list[tuple[str, str]] = []
    searches: list[tuple[str, str]] = []
    fetches: list[tuple[str, str]] = []
    for call in trajectory.calls:
        origin = call.command or call.path or call.query or call.url or call.tool
        if call.kind == "shell":
            expander.add(call.command, shell=call.shell or _dialect_hint(shell_default))
        elif call.kind == "edit":
            if call.content is not None:
                changes.append(FileChange(call.path, "write", None, call.content, f"{call.tool} {call.path}"))
            else:
                changes.append(FileChange(call.path, "replace", call.old, call.new, f"{call.tool} {call.path}"))
        elif call.kind == "read":
            reads.append((call.path, f"{call.tool} {call.path}"))
        elif call.kind == "search":
            searches.append((call.query, f"{call.tool} {call.query} {call.path}".strip()))
            if call.path:
                reads.append((call.path, f"{call.tool} {call.query} {call.path}"))
        elif call.kind == "fetch":
            fetches.append((call.url or call.query, f"{call.tool} {origin}"))
    expander.finish()
    for diff_file in trajectory.diff:
        path = diff_file.new_path or diff_file.old_path or ""
        if diff_file.new_path is None:
            changes.append(FileChange(path, "delete", "\n".join(diff_file.removed), None, f"diff {path}"))
            continue
        if diff_file.old_path and diff_file.old_path != diff_file.new_path:
            changes.append(FileChange(diff_file.old_path, "rename", None, None, f"diff rename {diff_file.old_path}",
                                      renamed_to=diff_file.new_path))
        changes.append(FileChange(path, "diff", "\n".join(diff_file.removed), "\n".join(diff_file.added),
                                  f"diff {path}"))
        for hunk in diff_file.new_hunks:
            changes.append(FileChange(path, "hunk", None, hunk, f"diff {path}"))
    code: list[CodeFacts] = []
    seen_scripts = 0
    for _ in range(MAX_EXPANSION_ROUNDS):
        scripts = expander.view.scripts[seen_scripts:]
        seen_scripts = len(expander.view.scripts)
        if not scripts:
            break
        for script in scripts:
            _script_facts(script, expander, code, changes)
    _shell_effects(expander, changes, reads, searches)
    for change in changes:
        if change.after and change.path.lower().endswith((".py", ".pyw")) or (change.after and change.path == ""):
            facts = python_facts(change.after)
            if facts is not None:
                code.append(CodeFacts(facts, change.after, change.path, change.origin))
    return Evidence(
        prompt=trajectory.prompt or (task.prompt if task is not None else ""),
        task=task,
        action_text=trajectory.action_text,
        invocations=tuple(expander.view.invocations),
        scripts=tuple(expander.view.scripts),
        changes=tuple(changes),
        reads=tuple(reads),
        searches=tuple(searches),
        fetches=tuple(fetches),
        code=tuple(code),
        variables=tuple(sorted(expander.variables.items())),
    )


def _dialect_hint(shell: str | None) -> str | None:
    return shell if shell in {"cmd", "powershell"} else None


def _script_facts(script: Script, expander: ShellExpander, code: list[CodeFacts], changes: list[FileChange]) -> None:
    if script.language == "python":
        facts = python_facts(script.code)
        if facts is None:
            return
        code.append(CodeFacts(facts, script.code, "", script.origin))
        for command in facts.commands:
            expander.add(command)
        for operation, path, content in facts.file_changes:
            kind = "delete" if operation in {"unlink", "remove", "rmtree", "rmdir"} else (
                "rename" if operation in {"rename", "replace", "move"} else "write")
            changes.append(FileChange(path, kind, None, content, script.origin, renamed_to=content if kind == "rename" else None))
            if kind == "write" and content:
                expander.view.scripts.append(Script("python", content, script.origin))
        return
    for match in _RUN_CALL.finditer(script.code):
        expander.add(match.group(2))


def _arguments(invocation: Invocation) -> list[str]:
    return [word for word in invocation.words[1:] if not word.startswith("-") or word == "-"]


def _shell_effects(expander: ShellExpander, changes: list[FileChange], reads: list[tuple[str, str]],
                   searches: list[tuple[str, str]]) -> None:
    """File changes, reads and searches that shell invocations perform."""
    for write in expander.view.writes:
        changes.append(FileChange(write.path, "write", None, write.content, write.origin))
    for invocation in expander.view.invocations:
        program = invocation.program
        words = list(invocation.words)
        arguments = [word for word in _arguments(invocation) if not (word.startswith("/") and len(word) == 2)]
        if program == "git" and len(words) > 1:
            sub = next((word.lower() for word in words[1:] if not word.startswith("-")), "")
            rest = [word for word in words[words.index(sub) + 1:] if not word.startswith("-")] if sub in words else []
            if sub == "rm":
                changes.extend(FileChange(path, "delete", None, None, invocation.origin) for path in rest)
            elif sub == "mv" and len(rest) >= 2:
                changes.append(FileChange(rest[0], "rename", None, None, invocation.origin, renamed_to=rest[-1]))
            elif sub == "grep" and rest:
                searches.append((rest[0], invocation.origin))
            continue
        if program in _DELETERS:
            changes.extend(FileChange(path, "delete", None, None, invocation.origin) for path in arguments)
        elif program in _MOVERS and len(arguments) >= 2:
            changes.append(FileChange(arguments[0], "rename", None, None, invocation.origin, renamed_to=arguments[-1]))
        elif program in _COPIERS and len(arguments) >= 2:
            changes.append(FileChange(arguments[-1], "write", None, None, invocation.origin))
        elif program in _CONTENT_WRITERS and arguments:
            value = _named_value(words, "-value")
            changes.append(FileChange(_named_value(words, "-path") or arguments[0], "write", None,
                                      value if value is not None else (" ".join(arguments[1:]) or None),
                                      invocation.origin))
        elif program in {"sed", "perl", "gsed"} and any(word.startswith(("-i", "-pi")) for word in words[1:]):
            expression = " ".join(word for word in words[1:] if not word.startswith("-"))
            for path in arguments[1:]:
                changes.append(FileChange(path, "inplace", None, expression, invocation.origin))
        elif program in _SEARCHERS and arguments:
            pattern = _named_value(words, "-e") or _named_value(words, "-pattern") or arguments[0]
            searches.append((pattern, invocation.origin))
            reads.extend((path, invocation.origin) for path in arguments[1:])
        elif program == "find" and "-name" in words:
            searches.append((_named_value(words, "-name") or "", invocation.origin))
        elif program in _READERS:
            reads.extend((path, invocation.origin) for path in arguments)


def _named_value(words: list[str], name: str) -> str | None:
    for index, word in enumerate(words[:-1]):
        if word.lower() == name:
            return words[index + 1]
    return None


@dataclass(frozen=True)
class Flag:
    """One detection: the detector's kind, why, and the offending text (truncated)."""

    detector: str
    reason: str
    evidence: str

    @staticmethod
    def of(detector: str, reason: str, evidence: str) -> "Flag":
        text = " ".join(evidence.split())
        return Flag(detector, reason, text if len(text) <= 240 else text[:237] + "...")
