"""Run untrusted Python against a test file in a resource-limited subprocess.

Isolation is process-level, good enough for a policy's 10-line functions, not for an
adversary: ``python -I -B -S`` in a fresh temp dir, its own session (so the whole process
group dies at the limit), ``RLIMIT_CPU`` / ``RLIMIT_AS`` / ``RLIMIT_FSIZE`` /
``RLIMIT_NOFILE`` set by the runner on itself before any submitted code is imported, a
wall-clock timeout, and a minimal environment. No ``preexec_fn``: it is unsafe in threaded
callers such as Ray workers and would stop CPython from spawning with vfork.
The runner imports the test module and calls every top-level ``test*`` callable; pytest
itself is not used, which keeps one run at roughly 30-60 ms.
"""
from __future__ import annotations

import ast
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from training.environment.python_source import parse_answer

_RUNNER = r'''
import resource, sys


def limit(kind, soft, hard):
    # Never above the inherited hard limit: raising it would fail.
    current = resource.getrlimit(kind)[1]
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(kind, (soft, hard))


marker, test_path, cpu_s, memory, file_size, open_files = sys.argv[1:7]
limit(resource.RLIMIT_CPU, int(cpu_s), int(cpu_s) + 1)
limit(resource.RLIMIT_AS, int(memory), int(memory))
limit(resource.RLIMIT_FSIZE, int(file_size), int(file_size))
limit(resource.RLIMIT_NOFILE, int(open_files), int(open_files))
limit(resource.RLIMIT_CORE, 0, 0)

import importlib.util, json, os
root = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, root)
collect_error = None
try:
    spec = importlib.util.spec_from_file_location("hidden_tests", os.path.join(root, test_path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = [getattr(module, n) for n in sorted(vars(module)) if n.startswith("test") and callable(getattr(module, n))]
except BaseException as error:
    tests, collect_error = [], type(error).__name__
passed = 0
for test in tests:
    try:
        test()
    except BaseException:
        continue
    passed += 1
sys.stdout.write("\n" + marker + json.dumps({"passed": passed, "collected": len(tests), "collect_error": collect_error}) + "\n")
sys.stdout.flush()
'''
_RUNNER_NAME = "_flywheel_runner.py"
_TIMEOUT_SIGNALS = frozenset({-signal.SIGXCPU, -signal.SIGKILL})


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one run. ``wall_s`` bounds the whole run including interpreter start."""

    wall_s: float = 2.0
    cpu_s: int = 2
    memory_bytes: int = 512 * 1024 * 1024
    file_bytes: int = 1024 * 1024
    open_files: int = 64


DEFAULT_LIMITS = SandboxLimits()


@dataclass(frozen=True)
class TestRun:
    """Outcome of running a test file. ``error_kind``: None, "syntax_error", "timeout", "crash"."""

    passed: int
    total: int
    error_kind: str | None
    collect_error: str | None
    duration_s: float

    @property
    def all_passed(self) -> bool:
        return self.error_kind is None and self.total > 0 and self.passed == self.total


def count_tests(test_source: str) -> int:
    """Number of top-level ``test*`` functions in ``test_source`` (0 if it does not parse)."""
    tree = parse_answer(test_source)
    if tree is None:
        return 0
    return sum(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
        for node in tree.body
    )


def run_tests(*, files: Mapping[str, str], test_path: str, limits: SandboxLimits = DEFAULT_LIMITS) -> TestRun:
    """Write ``files`` (relative path -> source) to a temp dir and run ``test_path`` in it.

    Precondition: ``test_path`` is one of ``files``. Never raises for bad code: syntax
    errors, crashes and hangs are reported in ``TestRun.error_kind``.
    """
    started = time.monotonic()
    expected_total = count_tests(files[test_path])
    if not _all_parse(files):
        return TestRun(0, expected_total, "syntax_error", "SyntaxError", time.monotonic() - started)
    with tempfile.TemporaryDirectory(prefix="flywheel-sandbox-") as root:
        _write_files(Path(root), {**files, _RUNNER_NAME: _RUNNER})
        marker = f"@@{secrets.token_hex(8)}@@"
        arguments = [_RUNNER_NAME, marker, test_path, str(limits.cpu_s), str(limits.memory_bytes),
                     str(limits.file_bytes), str(limits.open_files)]
        returncode, stdout, timed_out = _execute(Path(root), arguments, limits)
    duration = time.monotonic() - started
    if timed_out or returncode in _TIMEOUT_SIGNALS:
        return TestRun(0, expected_total, "timeout", None, duration)
    report = _find_report(stdout, marker)
    if report is None:
        return TestRun(0, expected_total, "crash", None, duration)
    collect_error = report["collect_error"]
    total = expected_total if collect_error else int(report["collected"])
    return TestRun(int(report["passed"]), total, None, collect_error, duration)


def _all_parse(files: Mapping[str, str]) -> bool:
    return all(parse_answer(source) is not None for path, source in files.items() if path.endswith(".py"))


def _write_files(root: Path, files: Mapping[str, str]) -> None:
    for relative, source in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")


def _execute(root: Path, arguments: list[str], limits: SandboxLimits) -> tuple[int | None, str, bool]:
    """Run the interpreter; kill its whole process group at ``limits.wall_s``."""
    process = subprocess.Popen(
        [sys.executable, "-I", "-B", "-S", *arguments],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(root)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        stdout, _ = process.communicate(timeout=limits.wall_s)
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        process.communicate()
        return process.returncode, "", True
    _kill_group(process.pid)  # reap stragglers the code may have forked and detached
    return process.returncode, stdout.decode("utf-8", "replace"), False


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _find_report(stdout: str, marker: str) -> dict[str, object] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(marker):
            try:
                return json.loads(line[len(marker):])
            except json.JSONDecodeError:
                return None
    return None
