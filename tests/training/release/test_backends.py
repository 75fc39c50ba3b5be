"""Deploy backends against the project's local server, which speaks vLLM's HTTP contract."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.release.backends import (
    DEPLOY_BACKENDS,
    DeployError,
    LocalBackend,
    VLLMBackend,
    deploy_backend_create,
)
from training.serving.vllm_client import VLLMClient

from tests.training.release.conftest import BASE_NAME


def served(server) -> list[str]:
    with VLLMClient(server.url) as client:
        return client.model_ids()


def serving_answer(server) -> str:
    with VLLMClient(server.url) as client:
        return client.complete(BASE_NAME, "Windows, cmd.exe. Delete the file old.log.", max_tokens=12, temperature=0.0, seed=0).text


def test_registry_holds_real_backends():
    assert DEPLOY_BACKENDS == {"vllm": VLLMBackend, "local": LocalBackend}
    with pytest.raises(ValueError, match="unknown deploy backend"):
        deploy_backend_create("sagemaker", "http://127.0.0.1:1")


def test_vllm_backend_loads_a_lora_adapter_verifies_and_unloads(server, lora_dir):
    backend = deploy_backend_create("vllm", server.url)
    check = backend.deploy(version="v1", artifact=str(lora_dir))
    assert check.ok and check.listed and check.completion is not None
    assert set(served(server)) == {BASE_NAME, "v1"}
    assert backend.verify(version="v1").ok
    backend.undeploy(version="v1")
    assert served(server) == [BASE_NAME]
    assert not backend.verify(version="v1").ok


def test_vllm_backend_failed_load_leaves_serving_untouched(server, tmp_path):
    before = serving_answer(server)
    broken = tmp_path / "broken-adapter"
    broken.mkdir()
    (broken / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": "not a rank"}))
    backend = VLLMBackend(server.url)
    with pytest.raises(DeployError, match="loading v1 .* failed"):
        backend.deploy(version="v1", artifact=str(broken))
    assert served(server) == [BASE_NAME]
    assert serving_answer(server) == before


def test_vllm_backend_needs_a_reload_hook_for_full_weights(server, full_version_dir):
    with pytest.raises(DeployError, match="reload hook"):
        VLLMBackend(server.url).deploy(version="v1", artifact=str(full_version_dir))
    assert served(server) == [BASE_NAME]


def test_vllm_backend_refuses_to_overwrite_a_served_version(server, lora_dir):
    with pytest.raises(DeployError, match="already served"):
        VLLMBackend(server.url).deploy(version=BASE_NAME, artifact=str(lora_dir))


def test_local_backend_deploys_a_full_checkpoint(server, full_version_dir):
    check = LocalBackend(server.url).deploy(version="v1", artifact=str(full_version_dir))
    assert check.ok and set(check.served_models) == {BASE_NAME, "v1"}


def test_unreachable_server_is_a_deploy_error(lora_dir):
    with pytest.raises(DeployError):
        VLLMBackend("http://127.0.0.1:9", timeout_s=2).deploy(version="v1", artifact=str(lora_dir))


def test_not_a_checkpoint_is_refused_before_any_call(server, tmp_path: Path):
    with pytest.raises(DeployError, match="neither a LoRA adapter"):
        VLLMBackend(server.url).deploy(version="v1", artifact=str(tmp_path))
