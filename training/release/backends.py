"""Deploy backends: put a model version on a server and prove it answers, before any traffic.

One small interface (``DeployBackend``) and an explicit registry (``DEPLOY_BACKENDS``):

- ``vllm``: vLLM's OpenAI-compatible HTTP API (``training.serving.vllm_client``). A LoRA
  adapter is loaded at run time with ``POST /v1/load_lora_adapter`` (the server must run
  with ``--enable-lora`` and ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``) and removed with
  ``/v1/unload_lora_adapter``. Full weights cannot be added beside the base model over that
  API: they go through a reload hook (``WeightReloadHook``), e.g.
  ``DevModeWeightReload``, which drives vLLM's dev-mode endpoints (``VLLM_SERVER_DEV_MODE=1``,
  ``--enable-sleep-mode``) on the instance dedicated to the new version:
  ``/sleep?level=2`` → ``/wake_up?tags=weights`` → ``/collective_rpc`` ``reload_weights`` →
  ``/reset_prefix_cache`` → ``/wake_up?tags=kv_cache``.
- ``local``: the project's own server (``training.serving.local_server``), which speaks the
  same API and also loads full checkpoints through ``/v1/load_lora_adapter``.

``deploy`` verifies, after loading, that the version is listed by ``GET /v1/models`` and
answers a test completion; if either fails it unloads what it loaded and raises
``DeployError``. It never touches any other version, so a failed deploy leaves the serving
version exactly as it was.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from training.serving.vllm_client import VLLMClient, VLLMError

PROBE_PROMPT = "Linux, bash. List the files in the current directory."
PROBE_MAX_TOKENS = 8


class DeployError(RuntimeError):
    """A version could not be deployed or did not answer; nothing else was changed."""


@dataclass(frozen=True)
class DeployCheck:
    """What the post-deploy verification saw."""

    version: str
    listed: bool
    """The version appears in ``GET /v1/models``."""
    completion: str | None
    """Text of the test completion (None if it failed)."""
    served_models: tuple[str, ...]
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.listed and self.completion is not None and self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "listed": self.listed, "completion": self.completion,
                "served_models": list(self.served_models), "seconds": round(self.seconds, 3), "error": self.error}


class DeployBackend(Protocol):
    """Puts versions on a server and takes them off."""

    name: str
    base_url: str

    def deploy(self, *, version: str, artifact: str, kind: str | None = None) -> DeployCheck:
        """Load ``artifact`` ("lora" or "full"; read from the directory when None) as ``version``
        and verify it; ``DeployError`` (after cleaning up) if it fails."""
        ...

    def undeploy(self, *, version: str) -> None:
        """Take ``version`` off the server (missing is fine)."""
        ...

    def verify(self, *, version: str) -> DeployCheck:
        """Is ``version`` listed and answering?"""
        ...


class WeightReloadHook(Protocol):
    """Puts a full checkpoint on a vLLM instance so that it serves it as ``version``."""

    def __call__(self, *, version: str, artifact: str) -> None: ...


def artifact_kind(artifact: str | Path) -> str:
    """"lora" for a PEFT adapter directory, "full" for a HF checkpoint; DeployError otherwise."""
    directory = Path(artifact)
    if (directory / "adapter_config.json").is_file():
        return "lora"
    if (directory / "config.json").is_file():
        return "full"
    raise DeployError(f"{artifact} is neither a LoRA adapter (adapter_config.json) nor a checkpoint (config.json)")


@dataclass
class DevModeWeightReload:
    """Reload full weights on a vLLM instance through its dev-mode endpoints (see module docstring).

    ``reload_weights`` receives ``weights_path``; the instance must have been started with
    ``--served-model-name`` equal to the version it is to serve.
    """

    base_url: str
    timeout_s: float = 600.0
    session: requests.Session = field(default_factory=requests.Session)

    def __call__(self, *, version: str, artifact: str) -> None:
        steps: list[tuple[str, dict[str, Any] | None]] = [
            ("/sleep?level=2", None),
            ("/wake_up?tags=weights", None),
            ("/collective_rpc", {"method": "reload_weights", "kwargs": {"weights_path": str(artifact)}}),
            ("/reset_prefix_cache", None),
            ("/wake_up?tags=kv_cache", None),
        ]
        for path, body in steps:
            response = self.session.post(f"{self.base_url.rstrip('/')}{path}", json=body, timeout=self.timeout_s)
            if response.status_code >= 400:
                raise DeployError(f"weight reload of {version}: POST {path} answered {response.status_code}: {response.text[:300]}")


class VLLMBackend:
    """vLLM over HTTP: runtime LoRA loading; full weights only through ``reload_hook``."""

    name = "vllm"
    loads_full_checkpoints_as_adapters = False

    def __init__(
        self, base_url: str, *, api_key: str | None = None, reload_hook: WeightReloadHook | None = None,
        timeout_s: float = 300.0,
    ) -> None:
        self.base_url = base_url
        self.client = VLLMClient(base_url, api_key=api_key, timeout_s=timeout_s, retries=2, backoff_s=0.2)
        self.reload_hook = reload_hook

    def deploy(self, *, version: str, artifact: str, kind: str | None = None) -> DeployCheck:
        kind = kind or artifact_kind(artifact)
        loaded_as_adapter = kind == "lora" or self.loads_full_checkpoints_as_adapters
        try:
            if version in self._served():
                raise DeployError(f"{version} is already served at {self.base_url}; versions are immutable, pick a new name")
            if loaded_as_adapter:
                self.client.load_lora_adapter(version, str(artifact))
            elif self.reload_hook is not None:
                self.reload_hook(version=version, artifact=str(artifact))
            else:
                raise DeployError(
                    f"{artifact} is a full checkpoint: vLLM serves full weights beside the base model only through a "
                    "reload hook (e.g. DevModeWeightReload on an instance started for this version); "
                    "or save the RL result as a LoRA adapter"
                )
        except VLLMError as error:
            raise DeployError(f"loading {version} from {artifact} failed: {error.message}") from error
        check = self.verify(version=version)
        if not check.ok:
            if loaded_as_adapter:
                self.undeploy(version=version)
            raise DeployError(f"{version} was loaded but did not answer: {check.error or 'not listed by /v1/models'}")
        return check

    def undeploy(self, *, version: str) -> None:
        try:
            self.client.unload_lora_adapter(version)
        except VLLMError as error:
            if error.status != 404:
                raise DeployError(f"unloading {version} failed: {error.message}") from error

    def verify(self, *, version: str) -> DeployCheck:
        started = time.monotonic()
        try:
            served = tuple(self._served())
        except VLLMError as error:
            return DeployCheck(version, False, None, (), time.monotonic() - started, error=f"/v1/models: {error.message}")
        if version not in served:
            return DeployCheck(version, False, None, served, time.monotonic() - started, error=f"{version} not in /v1/models")
        try:
            result = self.client.complete(version, PROBE_PROMPT, max_tokens=PROBE_MAX_TOKENS, temperature=0.0, seed=0)
        except VLLMError as error:
            return DeployCheck(version, True, None, served, time.monotonic() - started, error=f"test completion: {error.message}")
        if not result.choices:
            return DeployCheck(version, True, None, served, time.monotonic() - started, error="test completion had no choices")
        return DeployCheck(version, True, result.text, served, time.monotonic() - started)

    def _served(self) -> list[str]:
        return self.client.model_ids()


class LocalBackend(VLLMBackend):
    """The project's own server: same HTTP contract, and full checkpoints load like adapters."""

    name = "local"
    loads_full_checkpoints_as_adapters = True


DEPLOY_BACKENDS: dict[str, Callable[..., DeployBackend]] = {
    VLLMBackend.name: VLLMBackend,
    LocalBackend.name: LocalBackend,
}
"""Backend name -> constructor taking (base_url, *, api_key=None, ...)."""


def deploy_backend_create(name: str, base_url: str, **options: Any) -> DeployBackend:
    """The registered backend ``name`` for the server at ``base_url``; ValueError if unknown."""
    try:
        factory = DEPLOY_BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown deploy backend {name!r}; registered: {sorted(DEPLOY_BACKENDS)}") from None
    return factory(base_url, **options)
