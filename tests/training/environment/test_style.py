"""Convention and helper-reuse checks with ast."""
from __future__ import annotations

import pytest

from training.environment.style import follows_conventions, indentation_follows, reuses_helper

SNAKE_4 = "def success_rate(passed_count, failed_count):\n    total_count = passed_count + failed_count\n    return total_count\n"
CAMEL_2 = "def successRate(passedCount, failedCount):\n  totalCount = passedCount + failedCount\n  return totalCount\n"


@pytest.mark.parametrize(
    ("code", "naming", "indent", "expected"),
    [
        (SNAKE_4, "snake", 4, True),
        (SNAKE_4, "camel", 4, False),
        (SNAKE_4, "snake", 2, False),
        (CAMEL_2, "camel", 2, True),
        (CAMEL_2, "snake", 2, False),
        (CAMEL_2, "camel", 4, False),
        ("def f(x):\n    return x\n", "camel", 4, True),  # one-word names fit both conventions
        ("LIMIT = 3\n\ndef f(x):\n    return x\n", "camel", 4, True),  # constants are fine
        ("def f(x):\n\treturn x\n", "snake", 4, False),  # tabs
        ("def f(x) return x\n", "snake", 4, False),  # does not parse
    ],
)
def test_follows_conventions(code: str, naming: str, indent: int, expected: bool) -> None:
    assert follows_conventions(code, naming=naming, indent=indent) is expected


def test_nested_blocks_must_each_add_one_unit() -> None:
    assert indentation_follows("def f(x):\n  if x:\n    return 1\n  return 0\n", 2)
    assert not indentation_follows("def f(x):\n  if x:\n      return 1\n  return 0\n", 2)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("def mean(values):\n    return safe_div(sum(values), len(values))\n", True),
        ("import utils\ndef mean(values):\n    return utils.safe_div(sum(values), len(values))\n", True),
        ("def mean(values):\n    return sum(values) / len(values) if values else 0.0\n", False),
        ("def safe_div(a, b):\n    return a / b if b else 0.0\n\ndef mean(v):\n    return safe_div(sum(v), len(v))\n", False),
        ("def mean(values):\n    return safe_div\n", False),  # mentioned, not called
    ],
)
def test_reuses_helper(code: str, expected: bool) -> None:
    assert reuses_helper(code, "safe_div") is expected
