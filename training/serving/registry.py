"""Models the local server serves by name: one base policy plus runtime-loaded versions.

A version is either a PEFT LoRA adapter directory (``adapter_config.json``), merged into a
private copy of the base weights, or a full Hugging Face checkpoint directory (a full
fine-tune). Each version owns its weights, so requests for different names never share
mutable state; at demo-policy size the copies cost a few MB each.
"""
from __future__ import annotations

import copy
import threading
import time
import warnings
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from training.policy.model import policy_load
from training.serving.protocol import ApiError, model_not_found

ADAPTER_CONFIG = "adapter_config.json"
MODEL_CONFIG = "config.json"


@dataclass
class ServedModel:
    """One servable name."""

    name: str
    root: str
    """Path it was loaded from (vLLM's ``root``)."""
    kind: str
    """``"base"``, ``"lora"`` or ``"full"``."""
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    parent: str | None = None
    """Base model name for versions, None for the base (vLLM's ``parent``)."""
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def max_model_len(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", 2048))

    def card(self) -> dict[str, Any]:
        """vLLM's ``ModelCard`` for ``GET /v1/models``."""
        return {
            "id": self.name,
            "object": "model",
            "created": self.created,
            "owned_by": "vllm",
            "root": self.root,
            "parent": self.parent,
            "max_model_len": self.max_model_len,
            "permission": [],
        }


class ModelRegistry:
    """Thread-safe name -> ServedModel map with vLLM's load/unload rules."""

    def __init__(self, base: ServedModel) -> None:
        self.base = base
        self._versions: dict[str, ServedModel] = {}
        self._lock = threading.Lock()

    def get(self, name: str | None) -> ServedModel:
        """The model for a request's ``model`` field (None: the base); 404 if unknown."""
        if name is None or name == self.base.name:
            return self.base
        with self._lock:
            served = self._versions.get(name)
        if served is None:
            raise model_not_found(name)
        return served

    def cards(self) -> list[dict[str, Any]]:
        """Base first, then versions in load order."""
        with self._lock:
            versions = list(self._versions.values())
        return [self.base.card()] + [v.card() for v in versions]

    def load(self, name: str, path: str, *, load_inplace: bool = False) -> ServedModel:
        """Load a LoRA adapter or full checkpoint under ``name`` (vLLM's error codes).

        400 if the name is taken (unless ``load_inplace``) or is the base name, 404 if the path
        does not exist, 400 if the directory is not a loadable adapter/checkpoint.
        """
        if name == self.base.name:
            raise ApiError(
                f"The lora adapter name '{name}' conflicts with a served base model.",
                type="InvalidUserInput", param="lora_name",
            )
        with self._lock:
            if name in self._versions and not load_inplace:
                raise ApiError(
                    f"The lora adapter '{name}' has already been loaded. If you want to load the adapter "
                    "in place, set 'load_inplace' to True.",
                    type="InvalidUserInput", param="lora_name",
                )
        served = version_load(name, path, base=self.base)  # slow: outside the lock
        with self._lock:
            if name in self._versions and not load_inplace:  # lost a race with another load
                raise ApiError(f"The lora adapter '{name}' has already been loaded.", type="InvalidUserInput")
            self._versions[name] = served
        return served

    def unload(self, name: str) -> None:
        """Forget ``name``; 404 if it is not loaded."""
        with self._lock:
            if name not in self._versions:
                raise ApiError(
                    f"The lora adapter '{name}' cannot be found.", status=HTTPStatus.NOT_FOUND, type="NotFoundError",
                    param="lora_name",
                )
            del self._versions[name]


def version_load(name: str, path: str, *, base: ServedModel) -> ServedModel:
    """Build a ServedModel for a version directory; ApiError (404/400) if it cannot."""
    directory = Path(path)
    if not directory.is_dir():
        raise ApiError(
            f"No adapter found for {path}", status=HTTPStatus.NOT_FOUND, type="NotFoundError", param="lora_path"
        )
    if (directory / ADAPTER_CONFIG).is_file():
        model = _lora_merged(directory, base.model)
        return ServedModel(name=name, root=str(directory), kind="lora", model=model, tokenizer=base.tokenizer, parent=base.name)
    if (directory / MODEL_CONFIG).is_file():
        model, tokenizer = _full_checkpoint(directory, base.tokenizer)
        return ServedModel(name=name, root=str(directory), kind="full", model=model, tokenizer=tokenizer, parent=base.name)
    raise ApiError(
        f"{path} is neither a PEFT LoRA adapter ({ADAPTER_CONFIG}) nor a Hugging Face checkpoint ({MODEL_CONFIG}).",
        param="lora_path",
    )


def _lora_merged(directory: Path, base_model: PreTrainedModel) -> PreTrainedModel:
    """Base weights + LoRA delta, merged into a private copy (base stays untouched)."""
    from peft import PeftModel  # heavy import, only when an adapter is loaded

    try:
        with warnings.catch_warnings():  # peft calls a transformers API deprecated for v6
            warnings.simplefilter("ignore", FutureWarning)
            peft_model = PeftModel.from_pretrained(copy.deepcopy(base_model), directory, is_trainable=False)
        merged = peft_model.merge_and_unload()
    except Exception as exc:  # peft raises many types for a bad adapter; all are the client's input
        raise ApiError(f"Failed to load LoRA adapter from {directory}: {exc}", param="lora_path") from exc
    merged.eval()
    return merged


def _full_checkpoint(
    directory: Path, base_tokenizer: PreTrainedTokenizerBase
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A full fine-tune: it brings its own tokenizer, or else shares the base's."""
    has_tokenizer = any((directory / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json"))
    try:
        if has_tokenizer:
            return policy_load(directory)
        model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True)
    except Exception as exc:  # corrupt/mismatched files are the client's input, not a server fault
        raise ApiError(f"Failed to load checkpoint from {directory}: {exc}", param="lora_path") from exc
    model.eval()
    return model, base_tokenizer
