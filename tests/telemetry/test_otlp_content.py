"""OTLP prompt/response content → ``llm.completion``, through the real /v1/logs endpoint."""
from __future__ import annotations

import json

import pytest

from rewards.models import MinedCompletion
from rewards.services import preferences_mine
from telemetry.models import Event
from telemetry.services import organization_get_or_create
from tests.factories import api_client_for
from tests.telemetry.fixtures.otlp_builders import SECOND, T0, encode, log_record, logs_export, post

pytestmark = pytest.mark.django_db

SECRET = "sk-" + "x" * 30


@pytest.fixture
def org():
    org = organization_get_or_create(slug="otlp-full")
    org.content_capture = "full"
    org.save()
    return org


def send(org, resource: dict, records: list) -> None:
    response = post(api_client_for(org), "/v1/logs", encode(logs_export(resource, records), "protobuf"), "protobuf")
    assert response.status_code == 200, response.content


def completions(org) -> list[dict]:
    return [e.payload for e in Event.objects.filter(org=org, type="llm.completion").order_by("ts")]


def test_gen_ai_input_and_output_messages(org):
    record = log_record({
        "session.id": "s-1", "event.name": "gen_ai.client.inference.operation.details",
        "gen_ai.request.model": "acme-coder", "gen_ai.response.id": "resp-1",
        "gen_ai.usage.input_tokens": 40, "gen_ai.usage.output_tokens": 8,
        "gen_ai.response.finish_reasons": ["tool_calls"],
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "You are a coding agent."}]),
        "gen_ai.input.messages": json.dumps([
            {"role": "user", "parts": [{"type": "text", "content": f"List the files; my key is {SECRET}"}]},
            {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "run_shell_command", "arguments": {"command": "ls"}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "README.md"}]},
        ]),
        "gen_ai.output.messages": json.dumps([
            {"role": "assistant", "parts": [{"type": "text", "content": "One file: README.md"}], "finish_reason": "stop"},
        ]),
    }, time=T0)
    send(org, {"service.name": "acme-agent"}, [record])
    assert Event.objects.filter(org=org, type="llm.usage").count() == 1
    [completion] = completions(org)
    assert completion["request_id"] == "resp-1" and completion["finish_reason"] == "tool_calls"
    prompt = completion["prompt"]
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "tool"]
    assert prompt[1]["content"] == "List the files; my key is [REDACTED:openai_key]"  # scrubbed under full capture
    assert prompt[2]["tool_calls"][0]["function"] == {"name": "run_shell_command", "arguments": '{"command": "ls"}'}
    assert prompt[3] == {"role": "tool", "content": "README.md", "tool_call_id": "c1"}
    assert completion["response"] == [{"role": "assistant", "content": "One file: README.md"}]


def test_claude_code_user_prompt_only_when_its_text_is_exported(org):
    common = {"session.id": "c-1", "prompt.id": "p-7", "event.name": "user_prompt", "prompt_length": 20}
    request = {"session.id": "c-1", "event.name": "api_request", "model": "claude-sonnet-4-5", "input_tokens": 10, "output_tokens": 2}
    send(org, {"service.name": "claude-code", "service.version": "2.1.0"}, [
        log_record({**common, "prompt": "<REDACTED>"}, time=T0, body="claude_code.user_prompt"),
        log_record({**common, "prompt.id": "p-8", "prompt": "Fix the failing test"}, time=T0 + SECOND, body="claude_code.user_prompt"),
        log_record({**request, "prompt.id": "p-8"}, time=T0 + 2 * SECOND, body="claude_code.api_request"),
    ])
    [completion] = completions(org)
    assert Event.objects.get(org=org, type="llm.completion").model_version == "claude-sonnet-4-5"  # from its api_request
    assert completion["request_id"] == "p-8" and completion["prompt"] == "Fix the failing test"
    assert "response" not in completion and completion["prompt_fingerprint"].startswith("sha256:")


@pytest.mark.parametrize("producer, prefix", [("gemini-cli", "gemini_cli"), ("qwen-code", "qwen-code")])
def test_gemini_and_qwen_request_and_response_merge_into_one_completion(org, producer, prefix):
    common = {"session.id": "g-1", "model": "gemini-2.5-pro", "prompt_id": "g-prompt-1"}
    send(org, {"service.name": producer}, [
        log_record({**common, "event.name": f"{prefix}.user_prompt", "prompt": "Windows, cmd.exe. List the files in the `src` directory."}, time=T0),
        log_record({**common, "event.name": f"{prefix}.api_request", "request_text": '[{"role":"user","parts":[{"text":"..."}]}]'}, time=T0 + SECOND),
        log_record({**common, "event.name": f"{prefix}.api_response", "input_token_count": 50, "output_token_count": 6,
                    "response_text": "$ dir src", "finish_reasons": ["STOP"]}, time=T0 + 2 * SECOND),
    ])
    stored = completions(org)
    assert [sorted(k for k in c if k in ("prompt", "response")) for c in stored] == [["prompt"], ["prompt"], ["response"]]
    assert {c["request_id"] for c in stored} == {"g-prompt-1"}
    preferences_mine(org=org)
    mined = MinedCompletion.objects.get(org=org, request_id="g-prompt-1")
    assert mined.prompt == "Windows, cmd.exe. List the files in the `src` directory."  # the first prompt: the user's
    assert mined.response == "$ dir src" and mined.signals["commands_valid"] == 1.0


def test_records_without_content_or_model_map_to_no_completion(org):
    send(org, {"service.name": "gemini-cli"}, [
        log_record({"session.id": "g", "model": "m", "event.name": "gemini_cli.user_prompt", "prompt_length": 3, "prompt_id": "x"}, time=T0),
        log_record({"session.id": "g", "model": "m", "event.name": "gemini_cli.api_response", "input_token_count": 5, "output_token_count": 1}, time=T0),
    ])
    send(org, {"service.name": "claude-code"}, [  # no model anywhere in the export: ignored, not rejected
        log_record({"session.id": "lonely", "prompt.id": "p", "event.name": "user_prompt", "prompt": "hi"}, time=T0, body="claude_code.user_prompt"),
    ])
    assert completions(org) == [] and Event.objects.filter(org=org, type="llm.usage").count() == 1


@pytest.mark.parametrize("attribute", ["gen_ai.input.messages", "gen_ai.output.messages", "metadata"])
def test_json_text_nested_too_deeply_to_decode_is_kept_as_text_not_a_500(org, attribute):
    nested = "[" * 100_000 + "]" * 100_000  # past the JSON decoder's recursion limit
    record = log_record({
        "session.id": "s-deep", "event.name": "gen_ai.client.inference.operation.details",
        "gen_ai.request.model": "acme-coder", "gen_ai.response.id": "resp-deep",
        "gen_ai.usage.input_tokens": 4, "gen_ai.usage.output_tokens": 2,
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
        attribute: nested,
    }, time=T0)
    send(org, {"service.name": "acme-agent"}, [record])
    assert Event.objects.filter(org=org, type="llm.usage").count() == 1
