"""The task catalog: every task, its split, and the hidden spec behind each task id."""
from __future__ import annotations

from functools import cache, lru_cache

from training.environment.code_tasks import CodeSpec, build_code_specs, build_multi_step_specs
from training.environment.terminal import TerminalSpec, build_terminal_specs
from training.environment.types import SPLITS, Task
from training.environment.variants import VARIANT_KINDS, multi_step_variant, split_variant_id, terminal_variant

Spec = TerminalSpec | CodeSpec


@cache
def _specs_by_id() -> dict[str, Spec]:
    specs: list[Spec] = [*build_terminal_specs(), *build_code_specs(), *build_multi_step_specs()]
    by_id = {spec.task.task_id: spec for spec in specs}
    if len(by_id) != len(specs):
        raise RuntimeError("duplicate task ids in the catalog")
    return by_id


def task_catalog(*, split: str) -> list[Task]:
    """All tasks of ``split`` ("train" or "eval"), in a fixed order.

    The order and content depend only on this package's source, never on the machine or
    the run. Eval tasks hold out whole instances (other arguments for terminal intents,
    other function/repo pairings for code) and never appear in train.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return [spec.task for spec in _specs_by_id().values() if spec.task.split == split]


def task_get(task_id: str) -> Task:
    """The task with ``task_id`` (a catalog id or a variant id). Raises KeyError for unknown ids."""
    return spec_for(task_id).task


def spec_for(task_id: str) -> Spec:
    """The hidden spec of a task (intent and arguments, or function, repo and tests).

    A variant id (``<task_id>~<n>``, see ``training.environment.variants``) gives the
    terminal task with its arguments renamed, or the multi-step task with its directory renamed.
    """
    base, number = split_variant_id(task_id)
    try:
        spec = _specs_by_id()[base]
    except KeyError:
        raise KeyError(f"unknown task id {task_id!r}") from None
    if number is None:
        return spec
    if spec.task.kind not in VARIANT_KINDS:
        raise KeyError(f"unknown task id {task_id!r}: {spec.task.kind} tasks have no variants (their tests fix the names)")
    return _variant(base, number)


@lru_cache(maxsize=4096)
def _variant(task_id: str, number: int) -> Spec:
    spec = _specs_by_id()[task_id]
    return terminal_variant(spec, number) if isinstance(spec, TerminalSpec) else multi_step_variant(spec, number)
