"""A real (tiny) policy answers the simulated users: in-process and over the vLLM-compatible API."""
from __future__ import annotations

import pytest

from telemetry.services import api_key_create, organization_get_or_create
from training.environment import task_catalog
from training.policy.corpus import task_messages
from training.policy.model import policy_load
from training.policy.tokenizer import chat_prompt
from training.serving.local_server import policy_server_create
from training.simulator import (
    HttpPolicyResponder,
    LocalPolicyResponder,
    ResponseRequest,
    SimulationConfig,
    SingleVersion,
    TelemetrySender,
    simulate,
    summary_get,
    summary_mismatches,
)

SAMPLING = {"max_new_tokens": 24, "temperature": 0.7}


@pytest.fixture(scope="module")
def server(tiny_policy):
    with policy_server_create(tiny_policy, served_model_name="tiny-v0") as running:
        yield running


def prompt_tokens(tokenizer, task) -> int:
    return len(tokenizer(chat_prompt(tokenizer, task_messages(task)), add_special_tokens=False)["input_ids"])


def test_in_process_policy_counts_tokens_with_its_tokenizer(tiny_policy):
    responder = LocalPolicyResponder({"tiny": tiny_policy}, **SAMPLING)
    _, tokenizer = policy_load(tiny_policy)
    tasks = [t for t in task_catalog(split="eval") if t.kind == "terminal"][:4]
    responses = responder.respond([ResponseRequest(t, seed=7) for t in tasks], model_version="tiny")
    assert [r.prompt_tokens for r in responses] == [prompt_tokens(tokenizer, t) for t in tasks]
    assert all(1 <= r.completion_tokens <= SAMPLING["max_new_tokens"] for r in responses)
    assert responses == responder.respond([ResponseRequest(t, seed=7) for t in tasks], model_version="tiny")


def test_in_process_policy_simulation_is_deterministic(tiny_policy):
    responder = LocalPolicyResponder({"tiny": tiny_policy}, **SAMPLING)
    config = SimulationConfig(sessions=6, seed=2)
    first = simulate(config, responder=responder)
    assert first.events == simulate(config, responder=responder).events
    assert set(first.truth) == {"tiny"}
    with pytest.raises(ValueError, match="not served"):
        simulate(config, responder=responder, assigner=SingleVersion("v9"))


def test_served_policy_usage_is_the_servers_token_count(server, tiny_policy):
    responder = HttpPolicyResponder(server.url, **SAMPLING)
    assert responder.served_versions() == ("tiny-v0",) and responder.model_name == "tiny-v0"
    _, tokenizer = policy_load(tiny_policy)
    tasks = task_catalog(split="eval")[:3]
    responses = responder.respond([ResponseRequest(t, seed=5) for t in tasks], model_version="tiny-v0")
    assert [r.prompt_tokens for r in responses] == [prompt_tokens(tokenizer, t) for t in tasks]
    assert responses == responder.respond([ResponseRequest(t, seed=5) for t in tasks], model_version="tiny-v0")


@pytest.mark.django_db(transaction=True)
def test_served_policy_end_to_end_summary_equals_truth(server, live_server):
    api_key = api_key_create(org=organization_get_or_create(slug="sim-served"))
    responder = HttpPolicyResponder(server.url, **SAMPLING)
    with TelemetrySender(live_server.url, api_key) as sender:
        result = simulate(SimulationConfig(sessions=8, seed=1), responder=responder, sink=lambda r, j, o: sender.add(j))
    assert set(result.truth) == {"tiny-v0"}
    assert all(e["model"] == {"name": "tiny-v0", "version": "tiny-v0"} for e in result.events)
    assert summary_mismatches(result.truth, summary_get(live_server.url, api_key)) == []


def test_served_policy_answers_within_the_context_left_by_long_prompts(server, tiny_policy):
    _, tokenizer = policy_load(tiny_policy)
    longest = max(task_catalog(split="eval"), key=lambda t: prompt_tokens(tokenizer, t))
    context = server.state.registry.get("tiny-v0").max_model_len
    responder = HttpPolicyResponder(server.url, max_new_tokens=context, temperature=0.0)
    (response,) = responder.respond([ResponseRequest(longest, seed=1)], model_version="tiny-v0")
    assert response.prompt_tokens == prompt_tokens(tokenizer, longest)
    assert response.prompt_tokens + response.completion_tokens <= context
