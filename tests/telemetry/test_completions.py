"""``llm.completion``: validation, and storage under each content-capture mode with secrets scrubbed."""
from __future__ import annotations

import pytest

from telemetry.completions import completion_captured, content_text, text_fingerprint
from telemetry.models import Event
from telemetry.schemas import event_validate
from telemetry.services import events_ingest, organization_get_or_create
from tests.factories import make_event

SECRET = "ghp_" + "a" * 36
MESSAGES = [
    {"role": "system", "content": "You are a coding agent."},
    {"role": "user", "content": f"Deploy with token {SECRET} please."},
]
RESPONSE = [
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "ls"}'}},
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "README.md"},
    {"role": "assistant", "content": "Done."},
]


def completion(**payload) -> dict:
    base = {"request_id": "req-9", "prompt": MESSAGES, "response": RESPONSE, "finish_reason": "stop", "suggestion_ids": ["s9"]}
    return make_event("llm.completion", payload={**base, **payload})


@pytest.mark.parametrize("payload", [
    {"prompt": "plain text prompt", "response": "plain text answer"},
    {},
    {"response": [{"role": "assistant", "content": [{"type": "text", "text": "parts"}]}]},
])
def test_text_and_chat_messages_are_valid(payload):
    assert event_validate(completion(**payload)) == []


@pytest.mark.parametrize("payload, field", [
    ({"prompt": []}, "payload.prompt"),
    ({"prompt": [{"content": "no role"}]}, "payload.prompt"),
    ({"response": [{"role": "assistant", "tool_calls": [{"function": {}}]}]}, "payload.response"),
    ({"request_id": ""}, "payload.request_id"),
    ({"suggestion_ids": "s1"}, "payload.suggestion_ids"),
])
def test_malformed_completions_name_the_field(payload, field):
    errors = event_validate(completion(**payload))
    assert [e.field for e in errors] == [field]


def test_outcome_events_accept_a_request_id():
    for kind in ("tool.call", "suggestion.accepted", "llm.usage"):
        event = make_event(kind)
        event["payload"]["request_id"] = "req-9"
        assert event_validate(event) == []


def test_rendering_puts_tool_calls_in_the_text():
    text = content_text(RESPONSE)
    assert '@Bash {"command": "ls"}' in text and "<tool>\nREADME.md" in text and text.endswith("Done.")


def test_fingerprints_ignore_spacing_and_never_hash_a_secret():
    assert text_fingerprint("a  b\n") == text_fingerprint("a b")
    other_secret = [MESSAGES[0], {"role": "user", "content": f"Deploy with token ghp_{'b' * 36} please."}]
    off = completion_captured(mode="off", payload=completion()["payload"])
    assert off["prompt_fingerprint"] == completion_captured(mode="off", payload=completion(prompt=other_secret)["payload"])["prompt_fingerprint"]


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["off", "hashed", "full"])
def test_stored_under_the_org_capture_policy(mode):
    org = organization_get_or_create(slug=f"cap-{mode}")
    org.content_capture = mode
    org.save()
    assert events_ingest(org=org, events=[completion()]).accepted == 1
    stored = Event.objects.get(org=org, type="llm.completion").payload
    assert stored["request_id"] == "req-9" and stored["suggestion_ids"] == ["s9"] and stored["finish_reason"] == "stop"
    assert stored["prompt_fingerprint"].startswith("sha256:") and stored["prompt_chars"] > 0 and stored["response_chars"] > 0
    assert SECRET not in str(stored)
    if mode == "off":
        assert "prompt" not in stored and "response" not in stored and "response_fingerprint" not in stored
    if mode == "hashed":
        assert "prompt" not in stored and stored["response_fingerprint"].startswith("sha256:")
    if mode == "full":
        assert stored["prompt"][1]["content"] == "Deploy with token [REDACTED:github_token] please."
        assert stored["response"][0]["tool_calls"][0]["function"]["name"] == "Bash"
