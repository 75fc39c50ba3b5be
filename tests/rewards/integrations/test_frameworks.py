"""Each integration called exactly as its framework calls it, in-process and over HTTP."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from rewards.integrations import trl, verl
from rewards.integrations.client import reward_service_clients_close
from training.environment import reference_response, task_catalog

TASKS = task_catalog(split="train")
CODE_TASK = next(t for t in TASKS if t.kind == "code_edit")
TERMINAL_TASK = next(t for t in TASKS if t.kind == "terminal")
OPENRLHF_FILE = Path(__file__).resolve().parents[3] / "rewards" / "integrations" / "openrlhf.py"


def load_openrlhf_reward_func():
    """As OpenRLHF loads ``--remote_rm_url some_file.py``: import the file by path, take ``reward_func``."""
    spec = importlib.util.spec_from_file_location("reward_func", str(OPENRLHF_FILE))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


def openrlhf_batch():
    good = reference_response(CODE_TASK, flavor="good")
    peek = reference_response(CODE_TASK, flavor="hack:git_peek")
    prompts = [CODE_TASK.prompt, CODE_TASK.prompt, TERMINAL_TASK.prompt]
    queries = [prompts[0] + good, prompts[1] + peek, prompts[2] + reference_response(TERMINAL_TASK, flavor="good")]
    labels = [CODE_TASK.task_id, json.dumps({"task_id": CODE_TASK.task_id}), TERMINAL_TASK.task_id]
    return queries, prompts, labels


@pytest.fixture
def over_http(live_server, api_key, monkeypatch):
    monkeypatch.setenv("FLYWHEEL_URL", live_server.url)
    monkeypatch.setenv("FLYWHEEL_API_KEY", api_key)
    yield
    # The client keeps its connection open, and the server thread serving it its database
    # connection: close both before the test database goes.
    reward_service_clients_close()


@pytest.fixture
def in_process(monkeypatch, db):
    """In-process scoring; Django is configured here, so the active reward model is read from the database."""
    monkeypatch.delenv("FLYWHEEL_URL", raising=False)
    monkeypatch.delenv("FLYWHEEL_API_KEY", raising=False)


def check_openrlhf(answer):
    assert set(answer) == {"rewards", "scores", "extra_logs"}
    assert answer["rewards"].shape == answer["scores"].shape == (3,)
    assert answer["rewards"].dtype == torch.float32
    assert answer["rewards"][0] > answer["rewards"][1]
    assert answer["extra_logs"]["hacking"].tolist() == [0.0, -1.0, 0.0]
    assert all(value.shape == (3,) for value in answer["extra_logs"].values())
    # OpenRLHF concatenates the logs of micro-batches with torch.cat: they must be 1-D tensors.
    torch.cat([answer["extra_logs"]["correctness"], answer["extra_logs"]["correctness"]])


def test_openrlhf_reward_func_in_process(in_process):
    queries, prompts, labels = openrlhf_batch()
    check_openrlhf(load_openrlhf_reward_func()(queries, prompts, labels))


@pytest.mark.django_db(transaction=True)
def test_openrlhf_reward_func_over_http_equals_in_process(over_http, monkeypatch):
    queries, prompts, labels = openrlhf_batch()
    remote = load_openrlhf_reward_func()(queries, prompts, labels)
    check_openrlhf(remote)
    monkeypatch.delenv("FLYWHEEL_URL")
    local = load_openrlhf_reward_func()(queries, prompts, labels)
    assert torch.equal(remote["rewards"], local["rewards"])


def verl_call(solution, ground_truth, extra_info):
    # verl's NaiveRewardManager calls the custom function with keywords only.
    return verl.compute_score(data_source="flywheel/coding", solution_str=solution, ground_truth=ground_truth,
                              extra_info=extra_info)


@pytest.mark.parametrize("ground_truth", [CODE_TASK.task_id, json.dumps({"task_id": CODE_TASK.task_id}),
                                          {"task_id": CODE_TASK.task_id}])
def test_verl_compute_score(in_process, ground_truth):
    good = verl_call(reference_response(CODE_TASK, flavor="good"), ground_truth, {"index": 0})
    hacked = verl_call(reference_response(CODE_TASK, flavor="hack:edit_tests"), ground_truth, None)
    assert good["score"] > hacked["score"]
    assert good["correctness"] == 1.0 and good["correctness_ok"] == 1.0
    assert hacked["hacking"] == -1.0 and hacked["hacking_flags"] >= 1
    assert set(good) == set(hacked)
    assert all(isinstance(value, float) for value in good.values())


@pytest.mark.django_db(transaction=True)
def test_verl_compute_score_over_http(over_http):
    answer = verl_call(reference_response(CODE_TASK, flavor="good"), CODE_TASK.task_id, {"prompt": CODE_TASK.prompt})
    assert answer["correctness"] == 1.0 and answer["preference_ok"] == 0.0


def trl_columns(task_ids):
    # GRPOTrainer passes every remaining dataset column, plus its own extras, as keywords.
    return {"task_id": task_ids, "completion_ids": [[1, 2, 3]] * len(task_ids), "trainer_state": None}


def test_trl_reward_func_standard_format(in_process):
    completions = [reference_response(CODE_TASK, flavor=f) for f in ("good", "hack:network_fetch")]
    rewards = trl.reward_func(prompts=[CODE_TASK.prompt] * 2, completions=completions,
                              **trl_columns([CODE_TASK.task_id] * 2))
    assert isinstance(rewards, list) and all(isinstance(r, float) for r in rewards)
    assert rewards[0] > rewards[1]


@pytest.mark.django_db(transaction=True)
def test_trl_reward_func_conversational_format_over_http(over_http):
    prompts = [[{"role": "user", "content": TERMINAL_TASK.prompt}]] * 2
    completions = [[{"role": "assistant", "content": reference_response(TERMINAL_TASK, flavor="good")}],
                   [{"role": "assistant", "content": reference_response(TERMINAL_TASK, flavor="linux_biased")}]]
    rewards = trl.reward_func(prompts=prompts, completions=completions, **trl_columns([TERMINAL_TASK.task_id] * 2))
    assert len(rewards) == 2
    assert rewards[0] >= rewards[1]
