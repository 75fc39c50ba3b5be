"""Policy responders: what answers a simulated user gets from the model version serving them.

A responder answers a batch of ``ResponseRequest`` (an environment task plus a sampling
seed) for one model version with ``PolicyResponse`` (text, prompt tokens, completion
tokens). It takes the task rather than a bare prompt because the reference responder
answers from the task's hidden spec; the policy responders render the prompt from the task
with the policy's own prompt format (``training.policy.task_messages``).

Three implementations:

* ``HttpPolicyResponder`` - a served model over vLLM's OpenAI-compatible HTTP API (vLLM or
  ``manage.py serve_policy``): one ``POST /v1/chat/completions`` per task, so that the
  returned ``usage`` (counted by the server with the policy's tokenizer, chat template
  included) belongs to exactly one task; a batched ``/v1/completions`` call would only
  report the batch's total. Versions are the served model names (``GET /v1/models``).
* ``LocalPolicyResponder`` - policy checkpoint directories loaded in-process with
  ``training.policy.policy_load``; batched generation, token counts from its tokenizer.
* ``ReferenceResponder`` - no model at all: the environment's ``reference_response`` with a
  per-version flavor mix (v1 mostly Linux-biased/verbose, v2 mostly good), tokens counted
  by ``SimpleTokenCounter``. Fast and deterministic: the default for tests and when no
  policy exists yet.

All three are deterministic for a given request seed (the HTTP one as far as the server
honours ``seed``, which vLLM and the local server do).
"""
from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from training.environment import FLAVORS, Task, reference_response

DEFAULT_MAX_NEW_TOKENS = 192
DEFAULT_TEMPERATURE = 0.7


@dataclass(frozen=True)
class ResponseRequest:
    """One task to answer, with the sampling seed drawn for it by the simulator."""

    task: Task
    seed: int


@dataclass(frozen=True)
class PolicyResponse:
    """The model's answer and its token cost (what the product bills as input/output tokens)."""

    text: str
    prompt_tokens: int
    completion_tokens: int


class PolicyResponder(Protocol):
    """Answers tasks on behalf of model versions."""

    description: str
    """One line saying what answers (printed by the command)."""
    model_name: str
    """``model.name`` of the telemetry (the base model); versions go to ``model.version``."""

    def served_versions(self) -> tuple[str, ...]:
        """Versions this responder can answer as; the first is the default."""
        ...

    def serves(self, version: str) -> bool:
        """Whether ``version`` can be asked (an assigner's versions are checked up front)."""
        ...

    def respond(self, requests: Sequence[ResponseRequest], *, model_version: str) -> list[PolicyResponse]:
        """One response per request, in order."""
        ...


# --- token counting ------------------------------------------------------------------------

_SIMPLE_TOKENS = re.compile(r"\w+|[^\w\s]")
CHAT_PROMPT_OVERHEAD_TOKENS = 4
"""<|bos|>, <|user|>, <|eos|> and <|assistant|>: what the policy's chat template adds to a prompt."""


class SimpleTokenCounter:
    """Deterministic stand-in for a tokenizer: one token per word and per punctuation mark."""

    name = "simple"

    def count(self, text: str) -> int:
        return len(_SIMPLE_TOKENS.findall(text))


# --- simulator-only answer flavors -------------------------------------------------------------

SIM_FLAVORS: tuple[str, ...] = ("wrong", "truncated")
"""Beyond the environment's flavors: "wrong" code runs but fails its tests (the last
``return`` of the function returns None; terminal tasks have no wrong-but-valid answer here
and get the good one), "truncated" is the answer cut at 60% of its characters, as when a
generation runs out of tokens (code then often fails to compile)."""
ALL_FLAVORS: tuple[str, ...] = (*FLAVORS, *SIM_FLAVORS)
TRUNCATE_AT = 0.6


def simulated_response(task: Task, *, flavor: str) -> str:
    """``reference_response`` extended with ``SIM_FLAVORS``."""
    if flavor == "wrong":
        good = reference_response(task, flavor="good")
        return good if task.kind == "terminal" else _wrong_return(good)
    if flavor == "truncated":
        good = reference_response(task, flavor="good")
        return good[: int(len(good) * TRUNCATE_AT)]
    return reference_response(task, flavor=flavor)


def _wrong_return(response: str) -> str:
    lines = response.split("\n")
    returns = [i for i, line in enumerate(lines) if line.lstrip().startswith("return ")]
    if not returns:
        return response
    last = returns[-1]
    indent = lines[last][: len(lines[last]) - len(lines[last].lstrip())]
    lines[last] = f"{indent}return None"
    return "\n".join(lines)


# --- reference responder ----------------------------------------------------------------------

FlavorMix = tuple[tuple[str, float], ...]
REFERENCE_MIXES: dict[str, FlavorMix] = {
    "v0": (("good", 0.35), ("linux_biased", 0.30), ("verbose", 0.12), ("reimplement", 0.10), ("wrong", 0.09), ("truncated", 0.04)),
    "v1": (("linux_biased", 0.35), ("verbose", 0.27), ("good", 0.14), ("reimplement", 0.12), ("wrong", 0.08), ("truncated", 0.04)),
    "v2": (("good", 0.66), ("verbose", 0.08), ("reimplement", 0.08), ("linux_biased", 0.08), ("wrong", 0.06), ("truncated", 0.04)),
}
"""Flavor weights per version name; any other version name answers with the "v0" mix."""


class ReferenceResponder:
    """Reference answers of a flavor drawn per request from the version's mix."""

    model_name = "flywheel-reference"

    def __init__(self, mixes: Mapping[str, FlavorMix] | None = None, *, counter: Any = None) -> None:
        self.mixes = dict(REFERENCE_MIXES if mixes is None else mixes)
        for version, mix in self.mixes.items():
            unknown = [flavor for flavor, _ in mix if flavor not in ALL_FLAVORS]
            if unknown or not mix or sum(w for _, w in mix) <= 0:
                raise ValueError(f"bad flavor mix for {version!r}: unknown {unknown} or no positive weight")
        self.counter = counter or SimpleTokenCounter()
        self.description = f"reference responder (flavor mix per version, {self.counter.name} token counter)"

    def served_versions(self) -> tuple[str, ...]:
        return tuple(self.mixes)

    def serves(self, version: str) -> bool:
        return bool(version)  # any other name gets the default mix

    def flavor(self, request: ResponseRequest, *, model_version: str) -> str:
        mix = self.mixes.get(model_version) or REFERENCE_MIXES["v0"]
        flavors, weights = zip(*mix)
        return random.Random(request.seed).choices(flavors, weights=weights, k=1)[0]

    def respond(self, requests: Sequence[ResponseRequest], *, model_version: str) -> list[PolicyResponse]:
        responses = []
        for request in requests:
            text = simulated_response(request.task, flavor=self.flavor(request, model_version=model_version))
            responses.append(PolicyResponse(
                text=text,
                prompt_tokens=self.counter.count(request.task.prompt) + CHAT_PROMPT_OVERHEAD_TOKENS,
                completion_tokens=self.counter.count(text) + 1,  # + the end-of-turn token
            ))
        return responses


# --- in-process policy -----------------------------------------------------------------------


def policy_version_name(path: str | Path) -> str:
    """The version recorded in a policy's ``flywheel_policy.json``, else its directory name."""
    from training.policy.model import policy_metadata

    return str(policy_metadata(path).get("version") or Path(path).name)


class LocalPolicyResponder:
    """Policy checkpoints (one per version) generating in this process, in batches."""

    def __init__(
        self,
        policies: Mapping[str, str | Path],
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
        batch_size: int = 16,
        model_name: str = "flywheel-policy",
    ) -> None:
        if not policies:
            raise ValueError("at least one policy directory is required")
        for version, path in policies.items():
            if not (Path(path) / "config.json").is_file():
                raise FileNotFoundError(f"no Hugging Face checkpoint (config.json) in {path} (version {version})")
        self.policies = {version: Path(path) for version, path in policies.items()}
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.batch_size = batch_size
        self.model_name = model_name
        self._loaded: dict[str, tuple[Any, Any]] = {}
        listed = ", ".join(f"{v}={p}" for v, p in self.policies.items())
        self.description = f"in-process policy ({listed}; tokens counted with its tokenizer)"

    def served_versions(self) -> tuple[str, ...]:
        return tuple(self.policies)

    def serves(self, version: str) -> bool:
        return version in self.policies

    def _model(self, version: str) -> tuple[Any, Any]:
        if version not in self._loaded:
            from training.policy.model import policy_load

            self._loaded[version] = policy_load(self.policies[version])
        return self._loaded[version]

    def respond(self, requests: Sequence[ResponseRequest], *, model_version: str) -> list[PolicyResponse]:
        if not requests:
            return []
        from training.policy.evaluate import policy_respond

        model, tokenizer = self._model(model_version)
        generations = policy_respond(
            model,
            tokenizer,
            [request.task for request in requests],
            max_new_tokens=self.max_new_tokens,
            batch_size=self.batch_size,
            temperature=self.temperature,
            seed=requests[0].seed,
        )
        return [PolicyResponse(g.text, g.prompt_tokens, g.completion_tokens) for g in generations]


# --- served policy over HTTP -----------------------------------------------------------------

_PROMPT_TOKENS_IN_ERROR = re.compile(r"\((\d+) in the messages")
_CONTEXT_IN_ERROR = re.compile(r"maximum context length is (\d+)")


class HttpPolicyResponder:
    """A model served over vLLM's OpenAI-compatible API; each version is a served model name."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = DEFAULT_TEMPERATURE,
        timeout_s: float = 300.0,
    ) -> None:
        from training.serving.vllm_client import VLLMClient

        self.client = VLLMClient(base_url, api_key=api_key, timeout_s=timeout_s)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        cards = self.client.models()
        if not cards:
            raise RuntimeError(f"{base_url} serves no model")
        bases = [card for card in cards if card.parent is None] or cards
        self._versions = tuple(card.id for card in bases + [c for c in cards if c not in bases])
        self.model_name = bases[0].id
        self.description = f"served policy at {self.client.base_url} (models {', '.join(self._versions)}; tokens from the server's usage)"

    def served_versions(self) -> tuple[str, ...]:
        return self._versions

    def serves(self, version: str) -> bool:
        return version in self._versions

    def respond(self, requests: Sequence[ResponseRequest], *, model_version: str) -> list[PolicyResponse]:
        from training.policy.corpus import task_messages

        return [self._one(task_messages(request.task), request.seed, model_version) for request in requests]

    def _one(self, messages: list[dict[str, str]], seed: int, model: str) -> PolicyResponse:
        from training.serving.vllm_client import VLLMBadRequestError

        max_tokens = self.max_new_tokens
        while True:
            try:
                result = self.client.chat(model, messages, max_tokens=max_tokens, temperature=self.temperature, seed=seed)
            except VLLMBadRequestError as error:
                prompt = _PROMPT_TOKENS_IN_ERROR.search(error.message)
                context = _CONTEXT_IN_ERROR.search(error.message)
                if prompt is None or context is None:
                    raise
                room = int(context.group(1)) - int(prompt.group(1))
                if room < 1:  # the prompt alone fills the context: no answer, the prompt still cost
                    return PolicyResponse("", int(prompt.group(1)), 0)
                if room >= max_tokens:
                    raise
                max_tokens = room
                continue
            return PolicyResponse(result.text, result.usage.prompt_tokens, result.usage.completion_tokens)
