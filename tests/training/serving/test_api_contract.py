"""The vLLM API contract, exercised through the one client over real HTTP.

These tests use only ``VLLMClient`` and documented vLLM endpoints, so they are the same
checks deploy code relies on against a real vLLM server.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.training.serving.conftest import BASE_NAME
from training.serving.local_server import PolicyServer
from training.serving.vllm_client import (
    VLLMBadRequestError,
    VLLMClient,
    VLLMNotFoundError,
)

CHAT = [{"role": "user", "content": "Windows, PowerShell. List the files in the logs directory."}]


def test_health_and_models_list_the_base(client: VLLMClient, tiny_policy: Path) -> None:
    assert client.health()
    (card,) = client.models()
    assert card.id == BASE_NAME and card.parent is None
    assert card.root == str(tiny_policy) and card.max_model_len == 512


def test_completion_shape_and_usage(client: VLLMClient) -> None:
    result = client.complete(BASE_NAME, "<|bos|><|user|>\nWindows, cmd.exe. Delete the build directory.<|eos|>\n<|assistant|>\n", max_tokens=5, temperature=0)
    assert result.model == BASE_NAME and result.id.startswith("cmpl-")
    assert result.raw["object"] == "text_completion"
    (choice,) = result.choices
    assert choice.index == 0 and choice.finish_reason in {"stop", "length"}
    assert 1 <= result.usage.completion_tokens <= 5
    assert result.usage.prompt_tokens > 5
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens


def test_completion_batch_of_prompts_times_n(client: VLLMClient) -> None:
    result = client.complete(BASE_NAME, ["<|bos|><|user|>\n", "<|bos|><|system|>\n"], max_tokens=4, n=3, temperature=1.0, seed=3)
    assert [c.index for c in result.choices] == list(range(6))
    assert result.usage.completion_tokens <= 6 * 4


def test_chat_answers_like_the_policy(client: VLLMClient) -> None:
    result = client.chat(BASE_NAME, CHAT, max_tokens=40, temperature=0)
    assert result.raw["object"] == "chat.completion"
    assert result.raw["choices"][0]["message"]["role"] == "assistant"
    assert result.text.startswith("$ ")
    assert result.choices[0].finish_reason == "stop"


def test_seed_makes_sampling_reproducible(client: VLLMClient) -> None:
    params = {"max_tokens": 16, "temperature": 1.5, "top_p": 0.95, "n": 2}
    first = client.chat(BASE_NAME, CHAT, seed=11, **params).texts
    assert client.chat(BASE_NAME, CHAT, seed=11, **params).texts == first
    assert any(client.chat(BASE_NAME, CHAT, seed=s, **params).texts != first for s in (12, 13, 14))


def test_stop_strings_cut_the_text(client: VLLMClient) -> None:
    result = client.chat(BASE_NAME, CHAT, max_tokens=40, temperature=0, stop=[" "])
    assert result.text == "$" and result.choices[0].finish_reason == "stop"
    assert result.raw["choices"][0]["stop_reason"] == " "


def test_max_tokens_gives_finish_reason_length(client: VLLMClient) -> None:
    result = client.chat(BASE_NAME, CHAT, max_tokens=1, temperature=0)
    assert result.choices[0].finish_reason == "length" and result.usage.completion_tokens == 1


def test_lora_lifecycle(client: VLLMClient, lora_dir: Path) -> None:
    base_text = client.chat(BASE_NAME, CHAT, max_tokens=24, temperature=0).text

    assert "added successfully" in client.load_lora_adapter("v1-lora", str(lora_dir))
    cards = {card.id: card for card in client.models()}
    assert cards["v1-lora"].parent == BASE_NAME and cards["v1-lora"].root == str(lora_dir)

    lora = client.chat("v1-lora", CHAT, max_tokens=24, temperature=0)
    assert lora.model == "v1-lora"
    assert lora.text != base_text
    assert client.chat(BASE_NAME, CHAT, max_tokens=24, temperature=0).text == base_text  # base untouched

    with pytest.raises(VLLMBadRequestError, match="already been loaded"):
        client.load_lora_adapter("v1-lora", str(lora_dir))
    assert "added successfully" in client.load_lora_adapter("v1-lora", str(lora_dir), load_inplace=True)

    assert "removed successfully" in client.unload_lora_adapter("v1-lora")
    assert client.model_ids() == [BASE_NAME]
    with pytest.raises(VLLMNotFoundError, match="does not exist") as raised:
        client.chat("v1-lora", CHAT, max_tokens=4)
    assert raised.value.status == 404 and raised.value.param == "model"
    with pytest.raises(VLLMNotFoundError, match="cannot be found"):
        client.unload_lora_adapter("v1-lora")


def test_full_checkpoint_loads_as_a_named_version(client: VLLMClient, full_version_dir: Path) -> None:
    client.load_lora_adapter("v1-full", str(full_version_dir))
    try:
        assert {c.id: c.parent for c in client.models()}["v1-full"] == BASE_NAME
        full = client.complete("v1-full", "<|bos|><|user|>\nList", max_tokens=12, temperature=0)
        base = client.complete(BASE_NAME, "<|bos|><|user|>\nList", max_tokens=12, temperature=0)
        assert full.model == "v1-full" and full.text != base.text
    finally:
        client.unload_lora_adapter("v1-full")


def test_adapter_errors(client: VLLMClient, tmp_path: Path, lora_dir: Path) -> None:
    with pytest.raises(VLLMNotFoundError, match="No adapter found") as missing:
        client.load_lora_adapter("ghost", str(tmp_path / "missing"))
    assert missing.value.status == 404
    with pytest.raises(VLLMBadRequestError, match="neither a PEFT LoRA adapter"):
        client.load_lora_adapter("empty", str(tmp_path))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_text("{not json")
    with pytest.raises(VLLMBadRequestError, match="Failed to load LoRA adapter"):
        client.load_lora_adapter("broken", str(broken))
    with pytest.raises(VLLMBadRequestError, match="conflicts with a served base model"):
        client.load_lora_adapter(BASE_NAME, str(lora_dir))
    with pytest.raises(VLLMBadRequestError, match="Both 'lora_name' and 'lora_path'") as empty:
        client.load_lora_adapter("", str(lora_dir))
    assert empty.value.type == "InvalidUserInput"
    assert client.model_ids() == [BASE_NAME]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "ten"}, "max_tokens"),
        ({"max_tokens": 10_000}, "max_tokens"),  # context overflow
        ({"temperature": -1}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"n": 0}, "n"),
        ({"n": 1000}, "n"),
        ({"seed": 1.5}, "seed"),
        ({"seed": 2**70}, "seed"),
        ({"stop": 3}, "stop"),
        ({"stream": True}, "stream"),
    ],
)
def test_bad_sampling_params_are_400_with_the_field(client: VLLMClient, params: dict, field: str) -> None:
    with pytest.raises(VLLMBadRequestError) as raised:
        client.complete(BASE_NAME, "hello", **params)
    assert raised.value.status == 400 and raised.value.param == field and raised.value.message


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "messages"),
        ([{"role": "wizard", "content": "hi"}], "messages[0].role"),
        ([{"role": "user", "content": 5}], "messages[0].content"),
        (["hi"], "messages[0]"),
    ],
)
def test_bad_chat_messages_are_400(client: VLLMClient, messages: list, field: str) -> None:
    with pytest.raises(VLLMBadRequestError) as raised:
        client.chat(BASE_NAME, messages)
    assert raised.value.param == field


def test_chat_accepts_text_content_parts(client: VLLMClient) -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": "Windows, PowerShell. List the files in the logs directory."}]}]
    assert client.chat(BASE_NAME, parts, max_tokens=24, temperature=0).text == client.chat(
        BASE_NAME, CHAT, max_tokens=24, temperature=0
    ).text


def test_bad_prompt_is_400(client: VLLMClient) -> None:
    for prompt in ("", [], [1, 2, 3]):
        with pytest.raises(VLLMBadRequestError) as raised:
            client.complete(BASE_NAME, prompt)
        assert raised.value.param == "prompt"


def test_api_key_is_enforced_on_v1(tiny_policy: Path) -> None:
    from training.serving.local_server import policy_server_create
    from training.serving.vllm_client import VLLMAuthenticationError

    with policy_server_create(tiny_policy, served_model_name="keyed", api_key="s3cret") as keyed:
        assert VLLMClient(keyed.url).health()  # /health is open, as in vLLM
        with pytest.raises(VLLMAuthenticationError, match="Unauthorized"):
            VLLMClient(keyed.url).models()
        assert VLLMClient(keyed.url, api_key="s3cret").model_ids() == ["keyed"]


def test_default_served_name_is_the_path(tiny_policy: Path) -> None:
    from training.serving.local_server import policy_server_create

    with policy_server_create(tiny_policy) as default:
        assert VLLMClient(f"{default.url}/v1").model_ids() == [str(tiny_policy)]


def test_server_url_is_loopback_ephemeral(server: PolicyServer) -> None:
    assert server.host == "127.0.0.1" and server.port > 0


def test_concurrent_requests_get_the_same_answers_as_sequential(server: PolicyServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def ask(seed: int) -> list[str]:
        with VLLMClient(server.url) as own:  # one client per thread
            return own.chat(BASE_NAME, CHAT, max_tokens=12, temperature=1.0, seed=seed, n=2).texts

    sequential = [ask(seed) for seed in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(ask, range(6))) == sequential


def test_extreme_seeds_are_accepted(client: VLLMClient) -> None:
    for seed in (2**64 - 1, -(2**63)):
        assert client.complete(BASE_NAME, "<|bos|>", max_tokens=2, n=2, seed=seed).choices
