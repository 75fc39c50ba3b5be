"""Model-written Python that the parser cannot build fails verification; it never crashes it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from training.environment import task_catalog, verify
from training.environment.python_source import parse_answer

TOO_DEEP = {
    "unary minus 100,000 deep (parser stack: MemoryError)": "-" * 100_000 + "1",
    "attribute chain 100,000 long (RecursionError)": "a." * 100_000 + "b",
}


@pytest.mark.parametrize("source", TOO_DEEP.values(), ids=TOO_DEEP.keys())
def test_source_too_deep_for_the_parser_does_not_parse(source: str) -> None:
    assert parse_answer(source) is None


def test_parse_answer_parses_python_and_refuses_syntax_errors() -> None:
    assert parse_answer("def f():\n    return 1\n").body[0].name == "f"
    assert parse_answer("def f(:\n") is None
    assert parse_answer("x = 1\x00") is None


def test_the_answers_syntax_warnings_are_not_printed() -> None:
    program = ("import ast; from training.environment.python_source import parse_answer; "
               "parse_answer('x = 1if 2 else 3'); ast.parse('y = 1if 2 else 3')")
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True)
    assert run.stderr.count("SyntaxWarning") == 1  # the plain ast.parse's, not the answer's


@pytest.mark.parametrize("kind", ["code_edit", "multi_step"])
@pytest.mark.parametrize("source", TOO_DEEP.values(), ids=TOO_DEEP.keys())
def test_an_answer_too_deep_to_parse_is_a_failed_verdict(kind: str, source: str) -> None:
    task = next(t for t in task_catalog(split="train") if t.kind == kind)
    verdict = verify(task, f"```python\n{source}\n```")
    assert not verdict.success
