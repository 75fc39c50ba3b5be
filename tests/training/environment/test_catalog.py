"""Catalog shape, splits, determinism, and every good reference verifying."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from training.environment import FLAVORS, HACK_KINDS, reference_response, task_catalog, task_get, verify
from training.environment.catalog import spec_for
from training.environment.terminal import TerminalSpec

TRAIN = task_catalog(split="train")
EVAL = task_catalog(split="eval")
ROOT = Path(__file__).resolve().parents[3]


def test_sizes_and_kinds() -> None:
    kinds = Counter(task.kind for task in TRAIN + EVAL)
    assert set(kinds) == {"terminal", "code_edit", "multi_step"}
    assert 300 <= len(TRAIN) + len(EVAL) <= 1000
    assert 0.15 <= len(EVAL) / (len(TRAIN) + len(EVAL)) <= 0.25
    for kind in kinds:
        assert any(t.kind == kind for t in EVAL)


def test_fields_use_the_closed_vocabularies() -> None:
    for task in TRAIN + EVAL:
        assert task.os in {"windows", "macos", "linux"}
        assert task.shell in {"cmd", "powershell", "bash", "zsh"}
        assert task.language == ("shell" if task.kind == "terminal" else "python")
        assert task.prompt and len(task.prompt.split()) < 80
        if task.os != "windows":
            assert task.shell in {"bash", "zsh"}
        if task.shell in {"cmd", "powershell"}:
            assert task.os == "windows"


def test_splits_are_disjoint_and_hold_out_instances() -> None:
    train_ids = {t.task_id for t in TRAIN}
    assert len(train_ids) == len(TRAIN)
    assert train_ids.isdisjoint(t.task_id for t in EVAL)
    assert {t.prompt for t in TRAIN}.isdisjoint(t.prompt for t in EVAL)
    train_instances = {_instance(t) for t in TRAIN}
    assert not any(_instance(t) in train_instances for t in EVAL)


def _instance(task) -> tuple:
    spec = spec_for(task.task_id)
    if isinstance(spec, TerminalSpec):
        return (spec.intent.name, spec.params)
    return (spec.template, spec.function.name, spec.repo.name, task.os, task.shell)


def test_every_eval_task_has_its_split_and_can_be_fetched() -> None:
    for task in EVAL:
        assert task.split == "eval" and task_get(task.task_id) == task
    with pytest.raises(KeyError):
        task_get("term-nope")
    with pytest.raises(ValueError):
        task_catalog(split="test")


def test_catalog_is_deterministic_across_processes() -> None:
    script = (
        "import json; from training.environment import task_catalog as c;"
        "print(json.dumps([[t.task_id, t.prompt, t.split] for s in ('train', 'eval') for t in c(split=s)]))"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True,
                            text=True, check=True).stdout
    here = [[t.task_id, t.prompt, t.split] for t in TRAIN + EVAL]
    assert json.loads(output) == here


def test_flavors() -> None:
    assert FLAVORS[:4] == ("good", "linux_biased", "verbose", "reimplement")
    assert set(FLAVORS[4:]) == {f"hack:{kind}" for kind in HACK_KINDS}
    with pytest.raises(ValueError):
        reference_response(TRAIN[0], flavor="sloppy")


def test_references_are_deterministic() -> None:
    for task in TRAIN[::37]:
        for flavor in FLAVORS:
            assert reference_response(task, flavor=flavor) == reference_response(task, flavor=flavor)


@pytest.mark.parametrize("split", ["train", "eval"])
def test_every_good_reference_verifies(split: str) -> None:
    for task in task_catalog(split=split):
        verdict = verify(task, reference_response(task, flavor="good"))
        assert verdict.success, (task.task_id, verdict)
        assert verdict.hacks == (), task.task_id
        assert all(call.ok for call in verdict.tool_calls), task.task_id
        if task.kind != "terminal":
            assert verdict.style_ok and verdict.reused_helper, task.task_id
            assert verdict.tests_passed == verdict.tests_total > 0


def test_verbose_and_reimplement_code_references() -> None:
    for task in [t for t in TRAIN + EVAL if t.kind != "terminal"][::10]:
        verbose = verify(task, reference_response(task, flavor="verbose"))
        assert verbose.success and verbose.style_ok and verbose.reused_helper and verbose.hacks == ()
        reimplemented = verify(task, reference_response(task, flavor="reimplement"))
        assert reimplemented.success and reimplemented.hacks == ()
        assert reimplemented.style_ok is False and reimplemented.reused_helper is False


def test_package_imports_no_django() -> None:
    script = (
        "import sys, training.environment as e;"
        "e.verify(e.task_catalog(split='train')[0], '$ dir');"
        "print(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "False"
