"""A local stand-in for vLLM's OpenAI-compatible server, for the small demo policy on CPU.

Implements the subset deploy code uses, with vLLM's shapes and status codes:

    GET  /health                  200, empty body
    GET  /version                 {"version": ...}
    GET  /v1/models               base model + every loaded version (``parent`` = base)
    POST /v1/completions          prompt (str | list[str]), n, max_tokens, temperature, top_p, seed, stop
    POST /v1/chat/completions     messages, same sampling fields (+ max_completion_tokens)
    POST /v1/load_lora_adapter    {"lora_name", "lora_path", "load_inplace"?} -> 200 text
    POST /v1/unload_lora_adapter  {"lora_name"} -> 200 text

``model`` selects the base or a loaded version by name; an unknown name is a 404. Versions
may be PEFT LoRA directories or full HF checkpoints. Bad input is always a 4xx with
``{"error": {"message", "type", "param", "code"}}``. When ``api_key`` is set, ``/v1/*``
requires ``Authorization: Bearer <key>`` (401 ``{"error": "Unauthorized"}``), like vLLM.

Stdlib ``ThreadingHTTPServer``: requests are accepted concurrently, generation is
serialised by one lock (two CPU cores gain nothing from interleaving forward passes).
"""
from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from training.policy.generate import Generation, policy_generate
from training.policy.model import policy_load, policy_metadata
from training.serving.protocol import (
    ApiError,
    SamplingParams,
    chat_body,
    completion_body,
    context_length_error,
    parse_chat_request,
    parse_completion_request,
    parse_load_adapter,
    parse_unload_adapter,
    usage_body,
)
from training.serving.registry import ModelRegistry, ServedModel
from training.serving.request_threads import JoinedRequestThreads

logger = logging.getLogger("flywheel.serving")

SERVER_VERSION = "flywheel-local-0.1"
MAX_BODY_BYTES = 4 * 1024 * 1024
GENERATION_BATCH_ROWS = 32  # rows per forward batch; larger requests are chunked

Payload = dict[str, Any] | str | None


@dataclass
class ServerState:
    """Everything a request handler needs."""

    registry: ModelRegistry
    generation_lock: threading.Lock
    api_key: str | None = None


# --- route handlers: (state, body) -> payload -------------------------------------------------


def handle_health(state: ServerState, body: dict[str, Any]) -> Payload:
    return None


def handle_version(state: ServerState, body: dict[str, Any]) -> Payload:
    return {"version": SERVER_VERSION}


def handle_models(state: ServerState, body: dict[str, Any]) -> Payload:
    return {"object": "list", "data": state.registry.cards()}


def handle_completions(state: ServerState, body: dict[str, Any]) -> Payload:
    request = parse_completion_request(body)
    served = state.registry.get(request.model)
    per_prompt = generate_choices(state, served, list(request.prompts), request.sampling)
    choices, prompt_tokens, completion_tokens = [], 0, 0
    for generations in per_prompt:
        prompt_tokens += generations[0].prompt_tokens
        for generation in generations:
            completion_tokens += generation.completion_tokens
            choices.append(
                {
                    "index": len(choices),
                    "text": generation.text,
                    "logprobs": None,
                    "finish_reason": generation.finish_reason,
                    "stop_reason": generation.stop_reason,
                }
            )
    return completion_body(model=served.name, choices=choices, usage=usage_body(prompt_tokens, completion_tokens))


def handle_chat(state: ServerState, body: dict[str, Any]) -> Payload:
    request = parse_chat_request(body)
    served = state.registry.get(request.model)
    if not getattr(served.tokenizer, "chat_template", None):
        raise ApiError(f"The model `{served.name}` has no chat template; use /v1/completions.", param="model")
    prompt = served.tokenizer.apply_chat_template(list(request.messages), tokenize=False, add_generation_prompt=True)
    (generations,) = generate_choices(state, served, [prompt], request.sampling)
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": generation.text},
            "logprobs": None,
            "finish_reason": generation.finish_reason,
            "stop_reason": generation.stop_reason,
        }
        for i, generation in enumerate(generations)
    ]
    completion_tokens = sum(g.completion_tokens for g in generations)
    return chat_body(
        model=served.name, choices=choices, usage=usage_body(generations[0].prompt_tokens, completion_tokens)
    )


def handle_load_adapter(state: ServerState, body: dict[str, Any]) -> Payload:
    request = parse_load_adapter(body)
    state.registry.load(request.lora_name, request.lora_path, load_inplace=request.load_inplace)
    logger.info("loaded version %s from %s", request.lora_name, request.lora_path)
    return f"Success: LoRA adapter '{request.lora_name}' added successfully."


def handle_unload_adapter(state: ServerState, body: dict[str, Any]) -> Payload:
    request = parse_unload_adapter(body)
    state.registry.unload(request.lora_name)
    logger.info("unloaded version %s", request.lora_name)
    return f"Success: LoRA adapter '{request.lora_name}' removed successfully."


ROUTES: dict[str, tuple[str, Callable[[ServerState, dict[str, Any]], Payload]]] = {
    "/health": ("GET", handle_health),
    "/version": ("GET", handle_version),
    "/v1/models": ("GET", handle_models),
    "/v1/completions": ("POST", handle_completions),
    "/v1/chat/completions": ("POST", handle_chat),
    "/v1/load_lora_adapter": ("POST", handle_load_adapter),
    "/v1/unload_lora_adapter": ("POST", handle_unload_adapter),
}


# --- generation -------------------------------------------------------------------------------


def generate_choices(
    state: ServerState, served: ServedModel, prompts: list[str], sampling: SamplingParams
) -> list[list[Generation]]:
    """n generations for each prompt -> [prompt][n]; 400 if a prompt cannot fit the context.

    Runs entirely under the generation lock: besides serialising forward passes, it keeps
    the (Rust) fast tokenizer from being used by two threads at once.
    """
    with state.generation_lock:
        max_len = served.max_model_len
        prompt_lengths = [len(served.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
        longest = max(prompt_lengths)
        max_tokens = sampling.max_tokens if sampling.max_tokens is not None else max_len - longest
        if max_tokens < 1 or longest + max_tokens > max_len:
            raise context_length_error(max_model_len=max_len, prompt_tokens=longest, max_tokens=max(max_tokens, 1))
        seed = sampling.seed if sampling.seed is not None else secrets.randbits(63)
        rows = [p for p in prompts for _ in range(sampling.n)]
        generations: list[Generation] = []
        for chunk_index, start in enumerate(range(0, len(rows), GENERATION_BATCH_ROWS)):
            generations += policy_generate(
                served.model,
                served.tokenizer,
                rows[start : start + GENERATION_BATCH_ROWS],
                max_new_tokens=max_tokens,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                seed=(seed + chunk_index) % 2**64,  # any 64-bit seed, wrapped for later chunks
                stop=sampling.stop,
            )
    return [generations[i : i + sampling.n] for i in range(0, len(generations), sampling.n)]


# --- HTTP plumbing ----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a requests.Session reuses its connection
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle + delayed ACK cost 40 ms
    server_version = "FlywheelPolicyServer/0.1"
    server: "_HTTPServer"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        state = self.server.state
        try:
            body = self._read_body(method)
            route = ROUTES.get(path)
            if route is None:
                raise ApiError(f"Not Found: {path}", status=HTTPStatus.NOT_FOUND, type="NotFoundError")
            if route[0] != method:
                raise ApiError(
                    f"Method {method} not allowed on {path}", status=HTTPStatus.METHOD_NOT_ALLOWED, type="MethodNotAllowed"
                )
            if state.api_key and path.startswith("/v1") and not self._authorized(state.api_key):
                self._send(HTTPStatus.UNAUTHORIZED, {"error": "Unauthorized"})
                return
            payload = route[1](state, body if body is not None else {})
        except ApiError as error:
            self._send(error.status, error.body())
            return
        except Exception:  # a bug, not bad input: log it, answer 500 in the same error shape
            logger.exception("unhandled error on %s %s", method, path)
            error = ApiError("Internal server error", status=HTTPStatus.INTERNAL_SERVER_ERROR, type="InternalServerError")
            self._send(error.status, error.body())
            return
        self._send(HTTPStatus.OK, payload)

    def _authorized(self, api_key: str) -> bool:
        return secrets.compare_digest(self.headers.get("Authorization", ""), f"Bearer {api_key}")

    def _read_body(self, method: str) -> dict[str, Any] | None:
        """The JSON object body of a POST (None for other methods); ApiError on anything else."""
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ApiError("Chunked request bodies are not supported; send Content-Length.", status=HTTPStatus.LENGTH_REQUIRED)
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            self.close_connection = True
            raise ApiError("Invalid Content-Length header.") from None
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body would corrupt the next request
            raise ApiError(
                f"Request body of {length} bytes exceeds {MAX_BODY_BYTES}.",
                status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE, type="RequestTooLarge",
            )
        raw = self.rfile.read(length) if length > 0 else b""
        if method != "POST":
            return None
        if not raw:
            raise ApiError("Request body must be a JSON object.")
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(f"Invalid JSON body: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError("Request body must be a JSON object.")
        return body

    def _send(self, status: HTTPStatus, payload: Payload) -> None:
        if payload is None:
            data, content_type = b"", None
        elif isinstance(payload, str):
            data, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            data, content_type = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


class _HTTPServer(JoinedRequestThreads, ThreadingHTTPServer):
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: ServerState) -> None:
        self.state = state
        super().__init__(address, _Handler)


class PolicyServer:
    """A running (or ready to run) local server. Use as a context manager in tests."""

    def __init__(self, state: ServerState, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self._httpd = _HTTPServer((host, port), state)
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8000`` (clients append ``/v1/...``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_model_name(self) -> str:
        return self.state.registry.base.name

    def serve_forever(self) -> None:
        """Block serving requests until ``stop()`` (or KeyboardInterrupt)."""
        self._serving = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._serving = False

    def start(self) -> "PolicyServer":
        """Serve on a daemon thread; returns self."""
        self._serving = True  # before the thread runs, so an immediate stop() still shuts it down
        self._thread = threading.Thread(target=self.serve_forever, name=f"policy-server-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (safe to call when never started)."""
        if self._serving:
            self._httpd.shutdown()  # blocks until serve_forever returns
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> "PolicyServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def policy_server_create(
    policy_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    served_model_name: str | None = None,
    api_key: str | None = None,
) -> PolicyServer:
    """Load the base policy and bind a server (port 0: an ephemeral port); not started yet.

    The base is served as ``served_model_name``, defaulting like vLLM to the path as given.
    """
    model, tokenizer = policy_load(policy_path)
    name = served_model_name or str(policy_path)
    base = ServedModel(name=name, root=str(policy_path), kind="base", model=model, tokenizer=tokenizer)
    state = ServerState(registry=ModelRegistry(base), generation_lock=threading.Lock(), api_key=api_key)
    server = PolicyServer(state, host=host, port=port)
    logger.info(
        "serving %s (%s) at %s", name, policy_metadata(policy_path).get("version", "unversioned"), server.url
    )
    return server
