"""Property-based fuzzing of the scoring endpoints: whatever arrives, never a 5xx, and every
refusal names a field and says why."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from telemetry.services import api_key_create, organization_get_or_create

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
TOOL_NAMES = st.sampled_from(["Bash", "Edit", "MultiEdit", "Write", "Read", "Grep", "WebFetch", "run_shell_command",
                              "replace", "read_file", "grep_search", "shell", "nope"])
TOOL_CALL = st.fixed_dictionaries({"id": st.text(max_size=5), "type": st.just("function"), "function": st.fixed_dictionaries({
    "name": TOOL_NAMES, "arguments": st.one_of(JSON.map(json.dumps), st.text(max_size=40), JSON)})})
MESSAGE = st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant", "tool", "bot"]),
                                 "content": st.one_of(st.none(), st.text(max_size=60), JSON)},
                                optional={"tool_calls": st.one_of(st.lists(TOOL_CALL, max_size=3), JSON)})
TRAJECTORY = st.one_of(
    st.fixed_dictionaries({"prompt": st.one_of(st.text(max_size=60), JSON), "response": st.one_of(st.text(max_size=200), JSON)},
                          optional={"diff": st.one_of(st.text(max_size=200), JSON), "tests": JSON, "usage": JSON,
                                    "task": st.one_of(st.text(max_size=20), JSON)}),
    st.fixed_dictionaries({"messages": st.one_of(st.lists(MESSAGE, max_size=4), JSON)}),
    JSON,
)


@pytest.fixture
def client(db):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(org=organization_get_or_create(slug='fuzz'))}")
    return api


def check(answer):
    assert answer.status_code < 500, answer.content
    if answer.status_code >= 400:
        body = answer.json()
        assert body["message"]
        assert answer.status_code == 401 or "field" in body or body["error"] == "bad_request"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(TRAJECTORY, st.fixed_dictionaries({"trajectories": st.one_of(st.lists(TRAJECTORY, max_size=3), JSON)})))
def test_score_endpoint_never_5xx(client, body):
    check(client.post("/api/v1/rewards/score", body, format="json"))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(JSON, st.fixed_dictionaries({"query": st.one_of(st.lists(st.text(max_size=80), max_size=3), JSON)},
                                                   optional={"prompts": st.one_of(st.lists(st.text(max_size=20), max_size=3), JSON),
                                                             "labels": st.one_of(st.lists(JSON, max_size=3), JSON)})))
def test_get_reward_never_5xx(client, body):
    check(client.post("/get_reward", body, format="json"))
