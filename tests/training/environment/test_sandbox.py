"""The sandbox really runs code in a limited subprocess and kills it at its limits."""
from __future__ import annotations

import time

import pytest

from training.environment.sandbox import SandboxLimits, count_tests, run_tests

TESTS = "from m import f\n\ndef test_one():\n    assert f(1) == 2\n\ndef test_two():\n    assert f(2) == 3\n"
FAST_LIMITS = SandboxLimits(wall_s=1.0, cpu_s=1)
MARGIN_S = 1.0


def _run(code: str, limits: SandboxLimits = FAST_LIMITS):
    return run_tests(files={"m.py": code, "tests/test_m.py": TESTS}, test_path="tests/test_m.py", limits=limits)


def test_passing_code() -> None:
    run = _run("def f(x):\n    return x + 1\n")
    assert (run.passed, run.total, run.error_kind) == (2, 2, None)
    assert run.all_passed


def test_partially_failing_code() -> None:
    run = _run("def f(x):\n    return 2\n")
    assert (run.passed, run.total, run.error_kind, run.all_passed) == (1, 2, None, False)


def test_syntax_error_is_reported_without_running() -> None:
    run = _run("def f(x) return x\n")
    assert (run.passed, run.total, run.error_kind) == (0, 2, "syntax_error")


def test_import_time_crash_counts_every_test_as_failed() -> None:
    run = _run("raise RuntimeError('boom')\n")
    assert (run.passed, run.total, run.collect_error) == (0, 2, "RuntimeError")


def test_hard_exit_is_a_crash() -> None:
    run = _run("import os\nos._exit(3)\n")
    assert run.error_kind == "crash"


@pytest.mark.parametrize(
    "code",
    [
        "def f(x):\n    while True:\n        pass\n",  # burns CPU
        "import time\ndef f(x):\n    time.sleep(60)\n",  # sleeps: only the wall clock stops it
        "import os, time\nif os.fork() == 0:\n    time.sleep(60)\ndef f(x):\n    time.sleep(60)\n",  # with a child
    ],
)
def test_hanging_code_is_killed_at_its_limit(code: str) -> None:
    started = time.monotonic()
    run = _run(code)
    elapsed = time.monotonic() - started
    assert run.error_kind == "timeout" and run.passed == 0 and run.total == 2
    assert elapsed < FAST_LIMITS.wall_s + MARGIN_S


def test_memory_limit_turns_a_huge_allocation_into_a_failure() -> None:
    run = _run("def f(x):\n    return len(bytearray(4 * 1024 ** 3)) and x + 1\n")
    assert run.passed == 0 and run.error_kind is None


def test_code_cannot_see_the_callers_environment() -> None:
    tests = "import os\n\ndef test_env():\n    assert 'DJANGO_SETTINGS_MODULE' not in os.environ\n"
    run = run_tests(files={"tests/test_env.py": tests}, test_path="tests/test_env.py")
    assert run.all_passed


def test_count_tests() -> None:
    assert count_tests(TESTS) == 2
    assert count_tests("def test_(:\n") == 0
