"""Local stand-ins for the model APIs the agent CLIs call, for the real-client tests.

One HTTP server answers the three wire protocols the CLIs speak:

- the Gemini API (``…/models/<model>:generateContent`` and ``:streamGenerateContent``): Gemini CLI;
- the Anthropic Messages API (``/v1/messages``, streamed or not): Claude Code;
- OpenAI chat completions (``/v1/chat/completions``, streamed or not): Qwen Code.

Each conversation is scripted the same way: a request that offers the CLI's shell tool and
carries no tool result yet is answered with one call of that tool running ``command``;
every other request (the follow-up after the tool ran, and any side request such as a
title or a routing decision) is answered with text. Every answer reports fixed token
counts, and the server adds up what it reported, so a test can compare the tokens Flywheel
stored with the tokens the CLI was told about.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The shell tool's name in each CLI.
SHELL_TOOLS = frozenset({"run_shell_command", "Bash", "shell"})
FINAL_TEXT = "Done: the command ran."


@dataclass(frozen=True)
class Usage:
    """Tokens one answer reports (fresh input, cached input, output)."""

    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0


TOOL_CALL_USAGE = Usage(input_tokens=1200, output_tokens=30, cached_tokens=200)
TEXT_USAGE = Usage(input_tokens=1300, output_tokens=12)


@dataclass
class Served:
    """What the stand-in answered: counts and token totals, per protocol."""

    tool_calls: int = 0
    texts: int = 0
    input_tokens: int = 0  # fresh input, cached part excluded
    cached_tokens: int = 0
    output_tokens: int = 0
    paths: list[str] = field(default_factory=list)

    def add(self, usage: Usage, *, tool_call: bool) -> None:
        self.tool_calls += tool_call
        self.texts += not tool_call
        self.input_tokens += usage.input_tokens
        self.cached_tokens += usage.cached_tokens
        self.output_tokens += usage.output_tokens


class ModelApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, command: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.command = command
        self.served = Served()
        self.lock = threading.Lock()

    def script(self, command: str) -> None:
        """Answer the next conversations with a call running ``command``; forget what was served."""
        with self.lock:
            self.command = command
            self.served = Served()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def _shell_tool(names: list[str]) -> str | None:
    return next((name for name in names if name in SHELL_TOOLS), None)


class _Handler(BaseHTTPRequestHandler):
    server: ModelApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # model listings and health checks: an empty, valid answer
        self._json({"data": [], "models": []})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?")[0]
        with self.server.lock:
            self.server.served.paths.append(path)
        if ":generateContent" in path or ":streamGenerateContent" in path:
            self._gemini(request, stream="stream" in path)
        elif path.endswith(":countTokens"):
            self._json({"totalTokens": 10})
        elif path.endswith("/messages/count_tokens"):
            self._json({"input_tokens": 10})
        elif path.endswith("/messages"):
            self._anthropic(request)
        elif path.endswith("/chat/completions"):
            self._openai(request)
        else:
            self._json({"error": {"message": f"no stand-in for {path}"}}, status=404)

    # ------------------------------------------------------------ protocol answers

    def _plan(self, tool: str | None, tool_result_seen: bool) -> tuple[bool, Usage]:
        tool_call = tool is not None and not tool_result_seen
        usage = TOOL_CALL_USAGE if tool_call else TEXT_USAGE
        with self.server.lock:
            self.server.served.add(usage, tool_call=tool_call)
        return tool_call, usage

    def _gemini(self, request: dict[str, Any], *, stream: bool) -> None:
        names = [d.get("name") for t in request.get("tools") or [] for d in t.get("functionDeclarations") or []]
        tool = _shell_tool(names)
        seen = any("functionResponse" in part for c in request.get("contents") or [] for part in c.get("parts") or [])
        tool_call, usage = self._plan(tool, seen)
        part = {"functionCall": {"name": tool, "args": {"command": self.server.command}}} if tool_call else {"text": FINAL_TEXT}
        answer = {
            "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {
                "promptTokenCount": usage.input_tokens + usage.cached_tokens,  # Gemini counts the cached part in the prompt
                "cachedContentTokenCount": usage.cached_tokens,
                "candidatesTokenCount": usage.output_tokens,
                "totalTokenCount": usage.input_tokens + usage.cached_tokens + usage.output_tokens,
            },
            "modelVersion": "gemini-2.5-flash",
            "responseId": f"resp-{len(self.server.served.paths)}",
        }
        if stream:
            self._sse([(None, answer)])
        else:
            self._json(answer)

    def _anthropic(self, request: dict[str, Any]) -> None:
        tool = _shell_tool([t.get("name") for t in request.get("tools") or []])
        seen = any(
            isinstance(block, dict) and block.get("type") == "tool_result"
            for m in request.get("messages") or [] if isinstance(m.get("content"), list) for block in m["content"]
        )
        tool_call, usage = self._plan(tool, seen)
        model = request.get("model", "claude-sonnet-4-5")
        message_id = f"msg_{len(self.server.served.paths):04d}"
        block = (
            {"type": "tool_use", "id": f"toolu_{message_id}", "name": tool, "input": {"command": self.server.command, "description": "Run the command"}}
            if tool_call else {"type": "text", "text": FINAL_TEXT}
        )
        usage_json = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                      "cache_read_input_tokens": usage.cached_tokens, "cache_creation_input_tokens": 0}
        stop_reason = "tool_use" if tool_call else "end_turn"
        if not request.get("stream"):
            self._json({"id": message_id, "type": "message", "role": "assistant", "model": model, "content": [block],
                        "stop_reason": stop_reason, "stop_sequence": None, "usage": usage_json})
            return
        start = dict(block, input={}) if tool_call else dict(block, text="")
        delta = ({"type": "input_json_delta", "partial_json": json.dumps(block["input"])} if tool_call
                 else {"type": "text_delta", "text": FINAL_TEXT})
        self._sse([
            ("message_start", {"type": "message_start", "message": {
                "id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": dict(usage_json, output_tokens=1)}}),
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": start}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                               "usage": {"output_tokens": usage.output_tokens}}),
            ("message_stop", {"type": "message_stop"}),
        ])

    def _openai(self, request: dict[str, Any]) -> None:
        tool = _shell_tool([(t.get("function") or {}).get("name") for t in request.get("tools") or []])
        seen = any(m.get("role") == "tool" for m in request.get("messages") or [])
        tool_call, usage = self._plan(tool, seen)
        model = request.get("model", "qwen3-coder-plus")
        call = {"id": "call_flywheel_1", "type": "function",
                "function": {"name": tool, "arguments": json.dumps({"command": self.server.command, "is_background": False})}}
        message = {"role": "assistant", "content": None, "tool_calls": [call]} if tool_call else {"role": "assistant", "content": FINAL_TEXT}
        finish = "tool_calls" if tool_call else "stop"
        usage_json = {
            "prompt_tokens": usage.input_tokens + usage.cached_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.cached_tokens + usage.output_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        }
        completion_id = f"chatcmpl-{len(self.server.served.paths)}"
        if not request.get("stream"):
            self._json({"id": completion_id, "object": "chat.completion", "created": 1, "model": model,
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage_json})
            return
        delta = ({"role": "assistant", "tool_calls": [dict(call, index=0)]} if tool_call
                 else {"role": "assistant", "content": FINAL_TEXT})
        chunk = {"id": completion_id, "object": "chat.completion.chunk", "created": 1, "model": model}
        self._sse([
            (None, dict(chunk, choices=[{"index": 0, "delta": delta, "finish_reason": None}])),
            (None, dict(chunk, choices=[{"index": 0, "delta": {}, "finish_reason": finish}])),
            (None, dict(chunk, choices=[], usage=usage_json)),
            (None, "[DONE]"),
        ])

    # ------------------------------------------------------------ encoding

    def _json(self, body: dict[str, Any], *, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[tuple[str | None, Any]]) -> None:
        lines = []
        for name, data in events:
            if name:
                lines.append(f"event: {name}\n")
            lines.append(f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n")
        body = "".join(lines).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def model_api_server(command: str) -> Iterator[ModelApiServer]:
    """Serve the stand-in on 127.0.0.1 (a free port) in a thread, scripted to run ``command``."""
    server = ModelApiServer(command)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
