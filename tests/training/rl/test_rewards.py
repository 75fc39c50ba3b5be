"""The reward functions the rollouts call: shared scorer in-process, environment verifier, HTTP service."""
from __future__ import annotations

import pickle

import pytest

from training.rl.rewards import (
    EnvironmentReward, HttpReward, SharedScorerReward, Trajectory, reward_function_create, score_distinct,
)

RIGHT = Trajectory(prompt="Windows, cmd.exe. List the files in the `src` directory.", response="$ dir src",
                   task="term-list_files-windows-cmd-000")
WRONG = Trajectory(prompt=RIGHT.prompt, response="$ ls src", task=RIGHT.task)


def test_the_default_in_process_source_is_the_shared_scorer():
    reward_fn = reward_function_create("scorer")
    assert isinstance(reward_fn, SharedScorerReward)
    right, wrong = reward_fn([RIGHT, WRONG])
    assert right.components["correctness"] == 1.0 and wrong.components["correctness"] == 0.0
    assert right.reward > wrong.reward


def test_environment_reward_by_hand():
    right, wrong = EnvironmentReward()([RIGHT, WRONG])
    # correctness 1 + 0.2 * one valid call of one; the Linux command in cmd is an invalid call
    assert right.reward == pytest.approx(1.2) and wrong.reward == pytest.approx(0.0)


@pytest.mark.django_db(transaction=True)
def test_http_reward_scores_through_the_reward_service(live_server):
    from telemetry.services import api_key_create, organization_get_or_create

    key = api_key_create(org=organization_get_or_create(slug="rl-rewards"))
    reward = HttpReward(live_server.url, api_key=key)
    right, wrong = reward([RIGHT, WRONG])
    assert right.components["correctness"] == 1.0 and wrong.components["correctness"] == 0.0
    assert right.reward > wrong.reward
    # Every step of a run reuses one session (one kept-alive connection); a copy sent to
    # another process opens its own.
    session = reward._session
    assert reward([RIGHT]) == [right] and reward._session is session
    assert pickle.loads(pickle.dumps(reward))._session is None
    session.close()


def test_an_unreachable_reward_service_raises():
    import requests

    with pytest.raises(requests.ConnectionError):
        HttpReward("http://127.0.0.1:9", timeout_s=1)([RIGHT])


def test_score_distinct_scores_each_repeat_once_and_keeps_the_order():
    task = "term-list_files-windows-cmd-000"
    right, wrong = Trajectory(prompt="p", response="$ dir src", task=task), Trajectory(prompt="p", response="$ ls src", task=task)
    batches: list[list[Trajectory]] = []

    def counting(trajectories):
        batches.append(list(trajectories))
        return EnvironmentReward()(trajectories)

    trajectories = [wrong, right, wrong, wrong, right]
    scores = score_distinct(counting, trajectories)
    assert scores == EnvironmentReward()(trajectories)
    assert scores[0].reward < scores[1].reward  # ls fails on cmd, dir lists: the order matters
    assert batches == [[wrong, right]]
