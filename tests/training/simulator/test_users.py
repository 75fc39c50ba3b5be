"""The population mix, and how users react to verdicts (objective definitions)."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from telemetry.metrics import retention_from_content
from training.environment import reference_response, task_catalog, verify
from training.simulator import HashSplit, SingleVersion, population
from training.simulator.reactions import code_fate, is_accepted, all_tests_pass
from training.simulator.responders import simulated_response
from training.simulator.run import idiomatic_code


def test_population_mix_is_realistic_and_deterministic():
    users = population(seed=1, users=3000)
    assert users == population(seed=1, users=3000)
    assert population(seed=1, users=10) == users[:10]
    os_share = Counter(u.os for u in users)
    assert 0.31 < os_share["windows"] / len(users) < 0.39
    assert {(u.os, u.shell) for u in users} == {
        ("windows", "cmd"), ("windows", "powershell"), ("macos", "zsh"), ("macos", "bash"), ("linux", "bash"), ("linux", "zsh"),
    }
    assert {u.ide for u in users} == {"vscode", "jetbrains", "claude-code", "cursor", "neovim"}
    assert not [u for u in users if u.ide == "neovim" and u.os == "windows"]
    assert 0.6 < sum(u.language == "python" for u in users) / len(users) < 0.8
    assert {u.retention_report for u in users} == {"counts", "content"}


def test_hash_split_is_even_sticky_and_weighted_for_a_canary():
    from datetime import datetime, timezone

    at = datetime(2026, 1, 5, tzinfo=timezone.utc)
    users = [u.user for u in population(seed=2, users=4000)]
    split = HashSplit(["v1", "v2"])
    shares = Counter(split.assign(user=u, at=at) for u in users)
    assert abs(shares["v1"] - shares["v2"]) < 0.06 * len(users)
    assert [split.assign(user=u, at=at) for u in users] == [HashSplit(["v1", "v2"]).assign(user=u, at=at) for u in users]
    canary = Counter(HashSplit(["stable", "canary"], weights=[0.9, 0.1]).assign(user=u, at=at) for u in users)
    assert 0.07 < canary["canary"] / len(users) < 0.13
    assert SingleVersion("v0").assign(user="anyone", at=at) == "v0"
    with pytest.raises(ValueError):
        HashSplit(["v1", "v1"])


@pytest.fixture(scope="module")
def code_task():
    return next(t for t in task_catalog(split="eval") if t.kind == "code_edit")


def test_good_code_is_accepted_and_kept(code_task):
    verdict = verify(code_task, reference_response(code_task, flavor="good"))
    fate = code_fate(verdict, idiomatic_code=idiomatic_code(code_task), rng=random.Random(0))
    assert is_accepted(verdict) and fate.fate == "kept"
    assert fate.code_at(3600) == verdict.code


def test_off_style_code_is_rewritten_in_the_repo_style_partially_retained(code_task):
    verdict = verify(code_task, reference_response(code_task, flavor="reimplement"))
    assert all_tests_pass(verdict) and not verdict.style_ok
    fate = code_fate(verdict, idiomatic_code=idiomatic_code(code_task), rng=random.Random(0))
    assert fate.fate == "style_fixed" and 20 <= fate.change_at_s <= 900
    assert fate.code_at(fate.change_at_s - 1) == verdict.code
    rewritten = fate.code_at(fate.change_at_s)
    assert rewritten == idiomatic_code(code_task)
    retained = retention_from_content(original=verdict.code, current=rewritten).retained_chars
    assert 0 < retained < len(verdict.code)


def test_failing_code_is_accepted_then_deleted(code_task):
    verdict = verify(code_task, simulated_response(code_task, flavor="wrong"))
    assert is_accepted(verdict) and not all_tests_pass(verdict)
    fate = code_fate(verdict, idiomatic_code=idiomatic_code(code_task), rng=random.Random(0))
    assert fate.fate == "deleted" and fate.code_at(3600) == ""


def test_code_that_does_not_compile_is_rejected():
    for task in [t for t in task_catalog(split="eval") if t.kind != "terminal"]:
        verdict = verify(task, simulated_response(task, flavor="truncated"))
        if verdict.test_error_kind == "syntax_error":
            assert verdict.code is not None and not is_accepted(verdict)
            return
    pytest.fail("no truncated answer failed to compile")
