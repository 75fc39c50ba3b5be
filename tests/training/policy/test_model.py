from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from training.policy.model import (
    METADATA_FILE,
    policy_chat_template,
    policy_load,
    policy_metadata,
    policy_param_count,
    policy_save,
)
from training.policy.tokenizer import CHAT_TEMPLATE


def test_checkpoint_files(tiny_policy: Path) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", METADATA_FILE):
        assert (tiny_policy / name).is_file(), name
    config = json.loads((tiny_policy / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    tokenizer_config = json.loads((tiny_policy / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"


def test_save_load_round_trip_gives_identical_logits(tiny_policy: Path, tmp_path: Path) -> None:
    model, tokenizer = policy_load(tiny_policy)
    policy_save(model, tokenizer, tmp_path / "copy", metadata={"version": "copy"})
    reloaded, reloaded_tokenizer = policy_load(tmp_path / "copy")

    text = "<|bos|><|user|>\nWindows, PowerShell. List the files in the logs directory.<|eos|>\n<|assistant|>\n"
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    assert reloaded_tokenizer(text, add_special_tokens=False)["input_ids"] == ids[0].tolist()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, reloaded(ids).logits)
    assert policy_metadata(tmp_path / "copy") == {"version": "copy"}
    assert policy_param_count(reloaded) == policy_param_count(model)


def test_policy_load_rejects_a_directory_without_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        policy_load(tmp_path)


def test_the_chat_template_a_policy_carries_is_read_without_loading_it(tiny_policy: Path, tmp_path: Path) -> None:
    assert policy_chat_template(tiny_policy) == CHAT_TEMPLATE
    assert policy_chat_template(tmp_path) is None
