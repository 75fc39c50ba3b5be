"""The one HTTP client for vLLM's OpenAI-compatible server and for the local stand-in.

Only the documented vLLM API is used, so whatever works against the local server works
against a real vLLM (``vllm serve ... --enable-lora`` with
``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`` for the adapter endpoints).

Retries: only when the connection itself fails (refused, reset, connect timeout), with
exponential backoff. A read timeout is NOT retried: the server may already be generating,
and a repeated adapter load would then fail as "already loaded".

Errors: every non-2xx becomes a typed ``VLLMError`` carrying the server's message. Both
vLLM error bodies are understood: ``{"error": {"message", "type", "param", "code"}}``
(current) and the flat ``{"object": "error", "message", ...}`` (older releases).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_CONNECT_TIMEOUT_S = 5.0


class VLLMError(Exception):
    """A request to the server failed; ``message`` is the server's own explanation."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        param: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status} {type}: {message}" if status else message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.body = body


class VLLMConnectionError(VLLMError):
    """The server could not be reached (after the configured retries)."""


class VLLMTimeoutError(VLLMError):
    """The server accepted the request but did not answer in time (not retried)."""


class VLLMBadRequestError(VLLMError):
    """400/422: the request was invalid (bad field, context too long, adapter already loaded...)."""


class VLLMAuthenticationError(VLLMError):
    """401/403: missing or wrong API key."""


class VLLMNotFoundError(VLLMError):
    """404: unknown model name, unknown adapter, adapter path not found, or no such route."""


class VLLMServerError(VLLMError):
    """5xx: the server failed."""


@dataclass(frozen=True)
class ModelCard:
    """One entry of ``GET /v1/models``."""

    id: str
    root: str | None
    parent: str | None
    """The base model's name for a LoRA (None for a base model)."""
    max_model_len: int | None
    created: int | None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class Choice:
    index: int
    text: str
    """Completion text, or the assistant message content for chat."""
    finish_reason: str | None
    """"stop" (eos or stop string) or "length"."""


@dataclass(frozen=True)
class CompletionResult:
    """A parsed ``text_completion`` or ``chat.completion`` response."""

    id: str
    model: str
    choices: tuple[Choice, ...]
    usage: Usage
    raw: dict[str, Any]

    @property
    def text(self) -> str:
        """The first choice's text."""
        return self.choices[0].text

    @property
    def texts(self) -> list[str]:
        return [choice.text for choice in self.choices]


class VLLMClient:
    """Client for one server. Thread-safe for concurrent calls only if each thread has its own."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        retries: int = 3,
        backoff_s: float = 0.5,
    ) -> None:
        """``base_url`` is the server root (``http://host:8000``); a trailing ``/v1`` is tolerated."""
        root = base_url.rstrip("/")
        self.base_url = root[: -len("/v1")] if root.endswith("/v1") else root
        self.timeout = (connect_timeout_s, timeout_s)
        self.retries = retries
        self.backoff_s = backoff_s
        self.session = requests.Session()
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    # --- endpoints ---------------------------------------------------------------------------

    def health(self) -> bool:
        """True iff ``GET /health`` answers 200 now (no retries; never raises)."""
        try:
            return self.session.get(f"{self.base_url}/health", timeout=self.timeout).status_code == 200
        except requests.RequestException:
            return False

    def wait_until_healthy(self, *, timeout_s: float = 60.0, poll_s: float = 0.25) -> None:
        """Poll ``/health`` until it is 200; ``VLLMConnectionError`` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while not self.health():
            if time.monotonic() > deadline:
                raise VLLMConnectionError(f"{self.base_url} not healthy after {timeout_s:.0f}s")
            time.sleep(poll_s)

    def models(self) -> list[ModelCard]:
        """``GET /v1/models``: base model(s) first, then loaded LoRA adapters."""
        body = self._request("GET", "/v1/models")
        return [
            ModelCard(
                id=card["id"],
                root=card.get("root"),
                parent=card.get("parent"),
                max_model_len=card.get("max_model_len"),
                created=card.get("created"),
            )
            for card in body.get("data", [])
        ]

    def model_ids(self) -> list[str]:
        return [card.id for card in self.models()]

    def complete(self, model: str, prompt: str | Sequence[str], **params: Any) -> CompletionResult:
        """``POST /v1/completions``; ``params``: max_tokens, temperature, top_p, n, seed, stop, ..."""
        payload = {"model": model, "prompt": prompt if isinstance(prompt, str) else list(prompt), **params}
        body = self._request("POST", "/v1/completions", json=payload)
        return _completion_result(body, text_of=lambda choice: choice.get("text") or "")

    def chat(self, model: str, messages: Sequence[dict[str, Any]], **params: Any) -> CompletionResult:
        """``POST /v1/chat/completions``; same ``params`` as ``complete``."""
        payload = {"model": model, "messages": list(messages), **params}
        body = self._request("POST", "/v1/chat/completions", json=payload)
        return _completion_result(body, text_of=lambda choice: (choice.get("message") or {}).get("content") or "")

    def load_lora_adapter(self, name: str, path: str, *, load_inplace: bool = False) -> str:
        """``POST /v1/load_lora_adapter``; returns the server's success message.

        ``path`` is read by the SERVER, so it must exist on the server's filesystem.
        """
        payload: dict[str, Any] = {"lora_name": name, "lora_path": str(path)}
        if load_inplace:
            payload["load_inplace"] = True
        return self._request("POST", "/v1/load_lora_adapter", json=payload)

    def unload_lora_adapter(self, name: str) -> str:
        """``POST /v1/unload_lora_adapter``; returns the server's success message."""
        return self._request("POST", "/v1/unload_lora_adapter", json={"lora_name": name})

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "VLLMClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send with connection-error retries; decoded JSON (or text) on 2xx, VLLMError otherwise."""
        url = f"{self.base_url}{path}"
        for attempt in range(self.retries + 1):
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
                break
            except requests.ConnectionError as exc:  # refused, reset, ConnectTimeout: retried
                error: Exception = exc
            except requests.Timeout as exc:  # ReadTimeout: the server may be acting on it
                raise VLLMTimeoutError(f"{method} {url} timed out after {self.timeout[1]}s") from exc
            except requests.RequestException as exc:
                raise VLLMError(f"{method} {url} failed: {exc}") from exc
            if attempt < self.retries:
                time.sleep(self.backoff_s * 2**attempt)
        else:
            raise VLLMConnectionError(f"{method} {url}: cannot connect after {self.retries + 1} attempts: {error}")
        if response.status_code >= 400:
            raise error_from_response(response)
        return _decoded(response)


def error_from_response(response: requests.Response) -> VLLMError:
    """Map an error response to the typed exception, with the server's message."""
    body = _decoded(response)
    message, type_, param = _error_fields(body, fallback=response.reason or "error")
    status = response.status_code
    if status in (400, 422):
        cls: type[VLLMError] = VLLMBadRequestError
    elif status in (401, 403):
        cls = VLLMAuthenticationError
    elif status == 404:
        cls = VLLMNotFoundError
    elif status >= 500:
        cls = VLLMServerError
    else:
        cls = VLLMError
    return cls(message, status=status, type=type_, param=param, body=body)


def _error_fields(body: Any, *, fallback: str) -> tuple[str, str | None, str | None]:
    """(message, type, param) from any of vLLM's / FastAPI's error bodies."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):  # current vLLM / OpenAI
            return str(error.get("message", fallback)), error.get("type"), error.get("param")
        if isinstance(error, str):  # vLLM's auth middleware: {"error": "Unauthorized"}
            return error, None, None
        if "message" in body:  # vLLM < 0.10: flat ErrorResponse
            return str(body["message"]), body.get("type"), body.get("param")
        if "detail" in body:  # FastAPI default (e.g. unknown route)
            return str(body["detail"]), None, None
    if isinstance(body, str) and body.strip():
        return body.strip(), None, None
    return fallback, None, None


def _decoded(response: requests.Response) -> Any:
    """JSON if it parses, else the text ('' for an empty body)."""
    if not response.content:
        return ""
    try:
        return response.json()
    except ValueError:
        return response.text


def _completion_result(body: Any, *, text_of: Callable[[dict[str, Any]], str]) -> CompletionResult:
    if not isinstance(body, dict) or "choices" not in body:
        raise VLLMError(f"unexpected completion response: {str(body)[:200]}", body=body)
    usage = body.get("usage") or {}
    return CompletionResult(
        id=str(body.get("id", "")),
        model=str(body.get("model", "")),
        choices=tuple(
            Choice(index=int(c.get("index", i)), text=text_of(c), finish_reason=c.get("finish_reason"))
            for i, c in enumerate(body["choices"])
        ),
        usage=Usage(
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0) or 0),
            total_tokens=int(usage.get("total_tokens", 0)),
        ),
        raw=body,
    )
