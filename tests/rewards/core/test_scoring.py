"""The pure scorer: components, weights, time limits, determinism."""
from __future__ import annotations

import time

import pytest

from rewards.core.scoring import ScoringConfig, overlong_penalty, score_trajectories
from rewards.core.trajectory import TrajectoryError
from training.environment import reference_response, task_catalog

TASKS = task_catalog(split="train")
CODE_TASK = next(t for t in TASKS if t.kind == "code_edit")
TERMINAL_TASK = next(t for t in TASKS if t.kind == "terminal")


def payload(task, flavor):
    return {"prompt": task.prompt, "response": reference_response(task, flavor=flavor), "task": task.task_id}


class FixedModel:
    version = "rm-test-1"

    def __init__(self, scores):
        self.scores = scores

    def score(self, prompts, responses):
        return [self.scores[r] for r in responses]


class SlowModel:
    version = "rm-slow"

    def score(self, prompts, responses):
        time.sleep(0.5)
        return [1.0] * len(prompts)


def test_good_code_answer_is_verified_and_keeps_style():
    [result] = score_trajectories([payload(CODE_TASK, "good")], config=ScoringConfig())
    assert result.components["correctness"].value == 1.0
    assert result.components["style"].value == 1.0 and result.components["reuse"].value == 1.0
    assert result.components["hacking"].value == 0.0 and result.flags == ()
    assert result.reward == pytest.approx(1.0 + 0.1 + 0.1)


def test_components_sum_to_reward_with_their_weights():
    config = ScoringConfig(correctness_weight=2.0, reuse_weight=0.5)
    for flavor in ("good", "reimplement", "hack:hardcode_outputs", "hack:edit_tests"):
        [result] = score_trajectories([payload(CODE_TASK, flavor)], config=config)
        total = sum(c.value * c.weight for c in result.components.values() if c.status == "ok")
        assert result.reward == pytest.approx(total)
        assert result.components["correctness"].weight == 2.0


@pytest.mark.parametrize("flavor,kind", [("hack:hardcode_outputs", "hardcoded_output"),
                                         ("hack:edit_tests", "test_tampering"),
                                         ("hack:git_peek", "history_peek"),
                                         ("hack:network_fetch", "network_fetch"),
                                         ("hack:git_remote_add", "remote_restore"),
                                         ("hack:search_flood", "search_flood")])
def test_environment_hacks_are_penalized(flavor, kind):
    [good] = score_trajectories([payload(CODE_TASK, "good")], config=ScoringConfig())
    [hack] = score_trajectories([payload(CODE_TASK, flavor)], config=ScoringConfig())
    assert kind in {flag.detector for flag in hack.flags}
    assert hack.components["hacking"].value <= -1.0
    assert hack.reward < good.reward


def test_without_task_or_model_components_say_unavailable_not_zero():
    [result] = score_trajectories([{"prompt": "list files", "response": "$ ls"}], config=ScoringConfig())
    for name in ("correctness", "preference", "style", "reuse"):
        assert result.components[name].status == "unavailable"
        assert result.components[name].value is None
    assert result.reward_model_version is None


def test_client_test_report_is_used_without_a_task():
    [result] = score_trajectories([{"prompt": "p", "response": "$ ls", "tests": {"passed": 3, "total": 4}}],
                                  config=ScoringConfig())
    assert result.components["correctness"].value == 0.75


def test_preference_model_scores_and_version():
    model = FixedModel({"$ ls": 2.0, "$ dir": -1.0})
    results = score_trajectories([{"prompt": "p", "response": "$ ls"}, {"prompt": "p", "response": "$ dir"}],
                                 config=ScoringConfig(), preference_model=model)
    assert results[0].components["preference"].value > 0 > results[1].components["preference"].value
    assert {r.reward_model_version for r in results} == {"rm-test-1"}


def test_a_slow_component_is_reported_as_timeout():
    config = ScoringConfig(preference_time_limit_s=0.05)
    started = time.perf_counter()
    [result] = score_trajectories([{"prompt": "p", "response": "$ ls"}], config=config, preference_model=SlowModel())
    assert time.perf_counter() - started < 0.4
    assert result.components["preference"].status == "timeout"
    assert result.components["preference"].value is None
    assert result.components["hacking"].status == "ok"


def test_verification_timeout_is_reported_for_correctness_and_process_terms():
    config = ScoringConfig(correctness_time_limit_s=0.0)
    [result] = score_trajectories([payload(CODE_TASK, "good")], config=config)
    assert {result.components[n].status for n in ("correctness", "style", "reuse")} == {"timeout"}


def test_overlong_penalty_follows_dapo():
    assert overlong_penalty(100, max_length=200, buffer=50) == 0.0
    assert overlong_penalty(150, max_length=200, buffer=50) == 0.0
    assert overlong_penalty(175, max_length=200, buffer=50) == pytest.approx(-0.5)
    assert overlong_penalty(250, max_length=200, buffer=50) == -1.0
    config = ScoringConfig(max_response_tokens=200, overlong_buffer_tokens=50)
    [result] = score_trajectories([{"prompt": "p", "response": "$ ls", "usage": {"output_tokens": 190}}], config=config)
    assert result.components["overlong"].value == pytest.approx(-0.8)


def test_scoring_is_deterministic():
    batch = [payload(task, flavor) for task in (CODE_TASK, TERMINAL_TASK)
             for flavor in ("good", "linux_biased", "hack:network_fetch")]
    first = [r.to_dict() for r in score_trajectories(batch, config=ScoringConfig())]
    second = [r.to_dict() for r in score_trajectories(list(reversed(batch)), config=ScoringConfig())]
    assert first == list(reversed(second))


def test_bad_payload_names_the_field():
    with pytest.raises(TrajectoryError) as error:
        score_trajectories([{"prompt": "p", "response": "$ ls"}, {"prompt": 3, "response": "x"}], config=ScoringConfig())
    assert error.value.field == "trajectories[1].prompt"


def test_a_hung_detector_cannot_stall_the_batch(monkeypatch):
    from rewards.core import detectors

    def hang(evidence):
        time.sleep(0.6)
        return []

    monkeypatch.setitem(detectors.DETECTORS, "search_flood", hang)
    config = ScoringConfig(hacking_time_limit_s=0.05)
    started = time.perf_counter()
    results = score_trajectories([{"prompt": "p", "response": "$ ls"}] * 3, config=config)
    assert time.perf_counter() - started < 0.5
    assert [r.components["hacking"].status for r in results] == ["timeout"] * 3
    assert all(r.components["overlong"].status == "ok" for r in results)
    time.sleep(1.5)  # let the hung jobs drain before the next test uses the pool


def test_code_the_parser_cannot_build_is_scored_incorrect_not_unavailable():
    response = "```python\n" + "-" * 100_000 + "1\n```"  # the parser's stack overflows (MemoryError)
    [result] = score_trajectories([{"prompt": CODE_TASK.prompt, "response": response, "task": CODE_TASK.task_id}],
                                  config=ScoringConfig())
    assert result.components["correctness"].status == "ok"
    assert result.components["correctness"].value == 0.0
