"""The subset of vLLM's OpenAI-compatible HTTP protocol the local server speaks.

Request bodies are validated into frozen dataclasses; every problem is an ``ApiError``
(HTTP 4xx with an OpenAI/vLLM-style body ``{"error": {"message", "type", "param", "code"}}``),
never a 500. Unknown fields are ignored, as vLLM does.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

MAX_N = 16  # CPU serving: more parallel samples than this is a client bug, not a workload
MAX_STOP_STRINGS = 16
CHAT_ROLES = ("system", "user", "assistant")
DEFAULT_COMPLETION_MAX_TOKENS = 16  # OpenAI's and vLLM's default for /v1/completions


class ApiError(Exception):
    """An HTTP error with vLLM's error body."""

    def __init__(
        self, message: str, *, status: HTTPStatus = HTTPStatus.BAD_REQUEST, type: str = "BadRequestError", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": int(self.status)}}


def model_not_found(name: str) -> ApiError:
    """vLLM's answer for an unknown ``model``."""
    return ApiError(
        f"The model `{name}` does not exist.", status=HTTPStatus.NOT_FOUND, type="NotFoundError", param="model"
    )


@dataclass(frozen=True)
class SamplingParams:
    """Validated sampling parameters shared by completions and chat."""

    max_tokens: int | None
    """None: fill the remaining context (chat default)."""
    temperature: float
    top_p: float
    n: int
    seed: int | None
    """None: a fresh random seed per request, as vLLM does."""
    stop: tuple[str, ...]


@dataclass(frozen=True)
class CompletionRequest:
    model: str | None
    prompts: tuple[str, ...]
    sampling: SamplingParams


@dataclass(frozen=True)
class ChatRequest:
    model: str | None
    messages: tuple[dict[str, str], ...]
    sampling: SamplingParams


@dataclass(frozen=True)
class LoadAdapterRequest:
    lora_name: str
    lora_path: str
    load_inplace: bool


@dataclass(frozen=True)
class UnloadAdapterRequest:
    lora_name: str


def parse_completion_request(body: dict[str, Any]) -> CompletionRequest:
    """Body of ``POST /v1/completions`` -> request; ``prompt`` is a string or a list of strings."""
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        prompts: tuple[str, ...] = (prompt,)
    elif isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        prompts = tuple(prompt)
    else:
        raise ApiError("'prompt' must be a string or a non-empty list of strings.", param="prompt")
    if any(p == "" for p in prompts):
        raise ApiError("'prompt' must not be empty.", param="prompt")
    return CompletionRequest(
        model=_model(body),
        prompts=prompts,
        sampling=parse_sampling(body, default_max_tokens=DEFAULT_COMPLETION_MAX_TOKENS),
    )


def parse_chat_request(body: dict[str, Any]) -> ChatRequest:
    """Body of ``POST /v1/chat/completions`` -> request; content may be a string or text parts."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError("'messages' must be a non-empty list of {role, content} objects.", param="messages")
    parsed = tuple(_chat_message(m, i) for i, m in enumerate(messages))
    max_tokens_key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    return ChatRequest(
        model=_model(body),
        messages=parsed,
        sampling=parse_sampling(body, default_max_tokens=None, max_tokens_key=max_tokens_key),
    )


def parse_sampling(
    body: dict[str, Any], *, default_max_tokens: int | None, max_tokens_key: str = "max_tokens"
) -> SamplingParams:
    """The sampling fields of a request body, validated and defaulted like vLLM."""
    if body.get("stream"):
        raise ApiError("Streaming is not supported by the local policy server; set 'stream' to false.", param="stream")
    max_tokens = _optional_int(body, max_tokens_key, minimum=1)
    stop = body.get("stop")
    if stop is None:
        stops: tuple[str, ...] = ()
    elif isinstance(stop, str):
        stops = (stop,)
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop) and len(stop) <= MAX_STOP_STRINGS:
        stops = tuple(stop)
    else:
        raise ApiError(f"'stop' must be a string or a list of at most {MAX_STOP_STRINGS} strings.", param="stop")
    n = _optional_int(body, "n", minimum=1)
    if n is not None and n > MAX_N:
        raise ApiError(f"'n' must be at most {MAX_N}.", param="n")
    temperature = _optional_number(body, "temperature", minimum=0.0)
    top_p = _optional_number(body, "top_p", minimum=0.0)
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ApiError("'top_p' must be in (0, 1].", param="top_p")
    return SamplingParams(
        max_tokens=max_tokens if max_tokens is not None else default_max_tokens,
        temperature=1.0 if temperature is None else temperature,
        top_p=1.0 if top_p is None else top_p,
        n=1 if n is None else n,
        seed=_seed(body),
        stop=tuple(s for s in stops if s),
    )


def _seed(body: dict[str, Any]) -> int | None:
    seed = _optional_int(body, "seed", minimum=None)
    if seed is not None and not -(2**63) <= seed < 2**64:
        raise ApiError("'seed' must fit in 64 bits.", param="seed")
    return seed


def parse_load_adapter(body: dict[str, Any]) -> LoadAdapterRequest:
    """Body of ``POST /v1/load_lora_adapter``."""
    name, path = body.get("lora_name"), body.get("lora_path")
    if not (isinstance(name, str) and name) or not (isinstance(path, str) and path):
        raise ApiError("Both 'lora_name' and 'lora_path' must be provided.", type="InvalidUserInput")
    load_inplace = body.get("load_inplace", False)
    if not isinstance(load_inplace, bool):
        raise ApiError("'load_inplace' must be a boolean.", type="InvalidUserInput", param="load_inplace")
    return LoadAdapterRequest(lora_name=name, lora_path=path, load_inplace=load_inplace)


def parse_unload_adapter(body: dict[str, Any]) -> UnloadAdapterRequest:
    """Body of ``POST /v1/unload_lora_adapter``."""
    name = body.get("lora_name")
    if not (isinstance(name, str) and name):
        raise ApiError(
            "'lora_name' needs to be provided to unload a LoRA adapter.", type="InvalidUserInput", param="lora_name"
        )
    return UnloadAdapterRequest(lora_name=name)


def context_length_error(*, max_model_len: int, prompt_tokens: int, max_tokens: int) -> ApiError:
    """vLLM's message when prompt + completion cannot fit in the context."""
    return ApiError(
        f"This model's maximum context length is {max_model_len} tokens. However, you requested "
        f"{prompt_tokens + max_tokens} tokens ({prompt_tokens} in the messages, {max_tokens} in the completion). "
        "Please reduce the length of the messages or completion.",
        param="max_tokens",
    )


def usage_body(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion_body(*, model: str, choices: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage,
    }


def chat_body(*, model: str, choices: list[dict[str, Any]], usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": usage,
    }


def _model(body: dict[str, Any]) -> str | None:
    model = body.get("model")
    if model is not None and not (isinstance(model, str) and model):
        raise ApiError("'model' must be a non-empty string.", param="model")
    return model


def _chat_message(message: Any, index: int) -> dict[str, str]:
    param = f"messages[{index}]"
    if not isinstance(message, dict):
        raise ApiError(f"{param} must be an object with 'role' and 'content'.", param=param)
    role = message.get("role")
    if role not in CHAT_ROLES:
        raise ApiError(f"{param}.role must be one of {', '.join(CHAT_ROLES)}.", param=f"{param}.role")
    return {"role": role, "content": _chat_content(message.get("content"), param=f"{param}.content")}


def _chat_content(content: Any, *, param: str) -> str:
    """A string, or OpenAI content parts of type "text" (joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str) for part in content
    ):
        return "".join(part["text"] for part in content)
    raise ApiError(f"{param} must be a string or a list of text parts.", param=param)


def _optional_int(body: dict[str, Any], key: str, *, minimum: int | None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(f"'{key}' must be an integer.", param=key)
    if minimum is not None and value < minimum:
        raise ApiError(f"'{key}' must be at least {minimum}, got {value}.", param=key)
    return value


def _optional_number(body: dict[str, Any], key: str, *, minimum: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(f"'{key}' must be a number.", param=key)
    if value != value or value < minimum or value == float("inf"):
        raise ApiError(f"'{key}' must be a finite number >= {minimum}, got {value}.", param=key)
    return float(value)
