"""Task variants: renamed arguments or directories, verified like catalog tasks, deterministic, none for code edits."""
from __future__ import annotations

import re

import pytest

from training.environment import reference_response, task_catalog, task_get, verify
from training.environment.catalog import spec_for
from training.environment.variants import base_task_id, split_variant_id, variant_id

TERMINAL_TRAIN = [t for t in task_catalog(split="train") if t.kind == "terminal"]
BACKTICKED = re.compile(r"`([^`]+)`")


def test_variant_ids_round_trip() -> None:
    assert variant_id("term-list_files-linux-bash-000", 12) == "term-list_files-linux-bash-000~12"
    assert variant_id("term-list_files-linux-bash-000~3", 4) == "term-list_files-linux-bash-000~4"
    assert split_variant_id("term-list_files-linux-bash-000~12") == ("term-list_files-linux-bash-000", 12)
    assert split_variant_id("term-list_files-linux-bash-000") == ("term-list_files-linux-bash-000", None)
    assert base_task_id("term-list_files-linux-bash-000~12") == "term-list_files-linux-bash-000"
    with pytest.raises(ValueError):
        variant_id("term-list_files-linux-bash-000", -1)


@pytest.mark.parametrize("bad", ["term-list_files-linux-bash-000~x", "term-list_files-linux-bash-000~", "nope~1"])
def test_malformed_or_unknown_variant_ids_are_unknown_tasks(bad: str) -> None:
    with pytest.raises(KeyError):
        task_get(bad)


def test_code_edit_tasks_have_no_variants() -> None:
    code = next(t for t in task_catalog(split="train") if t.kind == "code_edit")
    with pytest.raises(KeyError, match="code_edit tasks have no variants"):
        task_get(variant_id(code.task_id, 1))


def test_a_multi_step_variant_renames_its_directory_and_is_verified_against_it() -> None:
    multi_step = [t for t in task_catalog(split="train") if t.kind == "multi_step"]
    with_directory = [t for t in multi_step if "Create the directory" in t.prompt]
    assert with_directory and len(with_directory) < len(multi_step)
    packages = set()
    for task in with_directory:
        variant = task_get(variant_id(task.task_id, 4))
        old, new = (re.search(r"Create the directory `(\w+)`", t.prompt).group(1) for t in (task, variant))
        assert new != old and variant.prompt == task.prompt.replace(f"`{old}`", f"`{new}`").replace(f"{old}/", f"{new}/")
        packages.add(new)
        assert (variant.kind, variant.os, variant.shell, variant.split) == (task.kind, task.os, task.shell, task.split)
        assert verify(variant, reference_response(variant, flavor="good")).success
        assert not verify(variant, reference_response(task, flavor="good")).success
    assert len(packages) > len(with_directory) / 2  # fresh names, not the catalog's five
    without = next(t for t in multi_step if t not in with_directory)
    assert task_get(variant_id(without.task_id, 4)).prompt == without.prompt


def test_every_terminal_variant_keeps_the_task_but_renames_its_arguments() -> None:
    for task in TERMINAL_TRAIN:
        variant = task_get(variant_id(task.task_id, 7))
        assert (variant.kind, variant.os, variant.shell, variant.split) == (task.kind, task.os, task.shell, task.split)
        assert variant.task_id == f"{task.task_id}~7"
        assert variant.prompt.split(".")[0] == task.prompt.split(".")[0]  # same "OS, shell." context
        old, new = BACKTICKED.findall(task.prompt), BACKTICKED.findall(variant.prompt)
        assert len(old) == len(new)
        assert spec_for(variant.task_id).intent is spec_for(task.task_id).intent


def test_variants_are_deterministic_and_differ_by_number() -> None:
    task = TERMINAL_TRAIN[0]
    assert task_get(variant_id(task.task_id, 5)) == task_get(variant_id(task.task_id, 5))
    prompts = {task_get(variant_id(task.task_id, n)).prompt for n in range(20)}
    assert len(prompts) > 15


def test_a_variant_is_verified_against_its_own_arguments() -> None:
    """The reference answer of the variant solves it; the catalog task's answer does not."""
    with_arguments = [t for t in TERMINAL_TRAIN if BACKTICKED.search(t.prompt)]
    assert len(with_arguments) > 0.7 * len(TERMINAL_TRAIN)
    solved_own = solved_base = 0
    for task in with_arguments:
        variant = task_get(variant_id(task.task_id, 3))
        solved_own += verify(variant, reference_response(variant, flavor="good")).success
        solved_base += verify(variant, reference_response(task, flavor="good")).success
    assert solved_own == len(with_arguments)
    assert solved_base <= 0.05 * len(with_arguments)


def test_prose_parameters_are_not_renamed() -> None:
    """Tasks without `arguments` ("Where am I?") have variants equal to themselves but for the id."""
    prose_only = [t for t in TERMINAL_TRAIN if not BACKTICKED.search(t.prompt)]
    assert prose_only
    for task in prose_only:
        assert task_get(variant_id(task.task_id, 3)).prompt == task.prompt


def test_shared_pieces_are_renamed_consistently() -> None:
    """`src/utils` and its parent `src` keep sharing the parent's new name."""
    nested = next(t for t in TERMINAL_TRAIN if t.task_id.startswith("term-make_nested_dir-"))
    arguments = spec_for(variant_id(nested.task_id, 9)).arguments
    assert arguments["path"].split("/")[0] == arguments["parent"]
