"""The curriculum retires tasks solved always or never; dynamic sampling refills the batch."""
from __future__ import annotations

import random

import pytest

from training.rl.config import RLConfig
from training.rl.curriculum import CurriculumTask, TaskCurriculum, retirement_verdict
from training.rl.driver import collect_groups
from training.rl.rollout import Rollout


def make_curriculum(**kwargs) -> TaskCurriculum:
    tasks = [CurriculumTask("a", "terminal"), CurriculumTask("b", "terminal"), CurriculumTask("c", "code_edit")]
    options = {"window": 4, "min_samples": 4, "solved_rate": 1.0, "unsolved_rate": 0.0} | kwargs
    return TaskCurriculum(tasks, **options)


def test_tasks_always_or_never_solved_retire_and_others_stay():
    curriculum = make_curriculum()
    assert curriculum.record("a", [True, True, True]) is None  # too few samples to judge
    assert curriculum.record("a", [True]) == "solved"
    assert curriculum.record("b", [False] * 4) == "unsolved"
    assert curriculum.record("c", [True, False, True, False]) is None
    assert curriculum.active() == ["c"]
    assert curriculum.sample(3, random.Random(0)) == ["c"]


def test_the_window_forgets_old_outcomes():
    curriculum = make_curriculum()
    curriculum.record("a", [False, False])
    assert curriculum.record("a", [True, True, True, True]) == "solved"  # the two failures left the window


def test_thresholds_are_inclusive():
    assert retirement_verdict(0.9, solved_rate=0.9, unsolved_rate=0.1) == "solved"
    assert retirement_verdict(0.1, solved_rate=0.9, unsolved_rate=0.1) == "unsolved"
    assert retirement_verdict(0.5, solved_rate=0.9, unsolved_rate=0.1) is None


def test_kind_weights_pick_only_weighted_kinds_and_samples_are_distinct():
    curriculum = make_curriculum(kind_weights={"code_edit": 1.0})
    assert curriculum.sample(3, random.Random(1)) == ["c"]
    assert sorted(make_curriculum().sample(3, random.Random(2))) == ["a", "b", "c"]


def test_state_round_trips():
    curriculum = make_curriculum()
    curriculum.record("a", [True] * 4)
    curriculum.record("c", [True, False])
    restored = make_curriculum()
    restored.restore(curriculum.state())
    assert restored.retired == {"a": "solved"}
    assert list(restored.outcomes["c"]) == [True, False]


def rollout(task_id: str, correct: float) -> Rollout:
    return Rollout(task_id=task_id, prompt="p", prompt_ids=(1,), response_ids=(2, 3), text="x", truncated=False,
                   reward=correct, components={"correctness": correct})


def test_dynamic_sampling_drops_flat_groups_and_samples_again_up_to_the_cap():
    config = RLConfig(group_size=2, prompts_per_step=2, max_sampling_rounds=3, max_new_tokens=16, overlong_buffer=4)
    tasks = [CurriculumTask(t, "terminal") for t in ("flat1", "flat2", "mixed1", "mixed2")]
    curriculum = TaskCurriculum(tasks, window=8, min_samples=8, solved_rate=1.0, unsolved_rate=0.0)
    calls: list[list[str]] = []

    def sample_round(task_ids: list[str], seed: int) -> list[list[Rollout]]:
        calls.append(list(task_ids))
        return [[rollout(t, 1.0), rollout(t, 1.0 if t.startswith("flat") else 0.0)] for t in task_ids]

    kept, sampled, rounds = collect_groups(config, curriculum, sample_round, rng=random.Random(0), step=0)
    assert all(g[0].task_id.startswith("mixed") for g in kept)
    assert len(sampled) == 2 * sum(len(c) for c in calls)
    assert rounds == len(calls) <= 3


def test_dynamic_sampling_stops_at_the_cap_when_nothing_varies():
    config = RLConfig(group_size=2, prompts_per_step=2, max_sampling_rounds=2, max_new_tokens=16, overlong_buffer=4)
    curriculum = TaskCurriculum([CurriculumTask("flat", "terminal")], window=100, min_samples=100, solved_rate=1.0, unsolved_rate=0.0)
    kept, sampled, rounds = collect_groups(config, curriculum, lambda ids, seed: [[rollout(t, 0.0), rollout(t, 0.0)] for t in ids],
                                           rng=random.Random(0), step=0)
    assert (kept, rounds, len(sampled)) == ([], 2, 4)


def test_without_dynamic_sampling_everything_is_kept_in_one_round():
    config = RLConfig(group_size=2, prompts_per_step=2, dynamic_sampling=False, max_new_tokens=16, overlong_buffer=4)
    curriculum = TaskCurriculum([CurriculumTask("flat", "terminal"), CurriculumTask("x", "terminal")], window=4, min_samples=4,
                                solved_rate=1.0, unsolved_rate=0.0)
    kept, _, rounds = collect_groups(config, curriculum, lambda ids, seed: [[rollout(t, 0.0), rollout(t, 0.0)] for t in ids],
                                     rng=random.Random(0), step=0)
    assert (len(kept), rounds) == (2, 1)


def test_overlong_penalty_enters_the_reward_in_sampling():
    config = RLConfig(group_size=2, prompts_per_step=1, max_new_tokens=4, overlong_buffer=2)
    curriculum = TaskCurriculum([CurriculumTask("t", "terminal")], window=4, min_samples=4, solved_rate=1.0, unsolved_rate=0.0)
    long_one = Rollout(task_id="t", prompt="p", prompt_ids=(1,), response_ids=(2, 3, 4, 5), text="x", truncated=True,
                       reward=1.0, components={"correctness": 1.0})
    kept, _, _ = collect_groups(config, curriculum, lambda ids, seed: [[long_one, rollout("t", 1.0)]], rng=random.Random(0), step=0)
    assert [r.reward for r in kept[0]] == pytest.approx([0.0, 1.0])  # length 4 = max: -1; length 2: no penalty
    assert kept[0][0].components["overlong_buffer"] == pytest.approx(-1.0)


def test_terminal_and_multi_step_groups_get_fresh_variants_and_the_curriculum_judges_the_base_task():
    config = RLConfig(group_size=2, prompts_per_step=3, dynamic_sampling=False, max_new_tokens=16, overlong_buffer=4)
    multi = "multi-mkdir_write-same_text-macos-zsh"
    tasks = [CurriculumTask("term-list_files-linux-bash-000", "terminal"), CurriculumTask("code-x", "code_edit"),
             CurriculumTask(multi, "multi_step")]
    curriculum = TaskCurriculum(tasks, window=8, min_samples=8, solved_rate=1.0, unsolved_rate=0.0)
    asked: list[str] = []

    def sample_round(task_ids: list[str], seed: int) -> list[list[Rollout]]:
        asked.extend(task_ids)
        return [[rollout(t, 1.0), rollout(t, 0.0)] for t in task_ids]

    for step in range(3):
        collect_groups(config, curriculum, sample_round, rng=random.Random(step), step=step)
    terminal = [t for t in asked if t.startswith("term-")]
    assert len(terminal) == 3 and all(t.startswith("term-list_files-linux-bash-000~") for t in terminal)
    assert len(set(terminal)) == 3  # a fresh variant each time
    assert "code-x" in asked  # code-edit tasks have no variants
    multi_asked = [t for t in asked if t.startswith(multi)]
    assert len(set(multi_asked)) == 3 and all(t.startswith(f"{multi}~") for t in multi_asked)
    assert set(curriculum.outcomes) == {"term-list_files-linux-bash-000", "code-x", multi}
    assert len(curriculum.outcomes["term-list_files-linux-bash-000"]) == 6


def test_without_variants_the_catalog_task_is_rolled_out():
    config = RLConfig(group_size=2, prompts_per_step=1, dynamic_sampling=False, max_new_tokens=16, overlong_buffer=4,
                      task_variants=False)
    curriculum = TaskCurriculum([CurriculumTask("term-list_files-linux-bash-000", "terminal")], window=4, min_samples=4,
                                solved_rate=1.0, unsolved_rate=0.0)
    asked: list[str] = []
    collect_groups(config, curriculum, lambda ids, seed: asked.extend(ids) or [[rollout(t, 0.0), rollout(t, 1.0)] for t in ids],
                   rng=random.Random(0), step=0)
    assert asked == ["term-list_files-linux-bash-000"]


def test_step_metrics_split_the_reward_by_task_kind():
    from training.environment import task_catalog
    from training.environment.variants import variant_id
    from training.rl.driver import step_metrics

    tasks = task_catalog(split="train")
    terminal = next(t.task_id for t in tasks if t.kind == "terminal")
    code = next(t.task_id for t in tasks if t.kind == "code_edit")
    sampled = [rollout(terminal, 0.2), rollout(variant_id(terminal, 7), 0.4), rollout(code, 1.0)]
    curriculum = TaskCurriculum([CurriculumTask(terminal, "terminal"), CurriculumTask(code, "code_edit")],
                                window=8, min_samples=8, solved_rate=1.0, unsolved_rate=0.0)
    metrics = step_metrics(sampled, kept_groups=1, rounds=1, train={}, curriculum=curriculum)
    assert metrics["reward/kind/terminal/mean"] == pytest.approx(0.3)  # a variant counts as its task's kind
    assert metrics["reward/kind/code_edit/mean"] == pytest.approx(1.0)
    assert "reward/kind/multi_step/mean" not in metrics
    assert metrics["reward/mean"] == pytest.approx(1.6 / 3)
