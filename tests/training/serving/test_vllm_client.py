"""Client behaviour that does not depend on the server implementation."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from config.server_process import free_port
from training.serving.vllm_client import (
    VLLMBadRequestError,
    VLLMClient,
    VLLMConnectionError,
    VLLMNotFoundError,
    VLLMServerError,
    VLLMTimeoutError,
    error_from_response,
)


class _Slow(BaseHTTPRequestHandler):
    """A real HTTP server that answers after a delay and counts requests."""

    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        time.sleep(1.0)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def slow_server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_connection_errors_are_retried_then_typed() -> None:
    client = VLLMClient(f"http://127.0.0.1:{free_port()}", retries=2, backoff_s=0.05)
    started = time.monotonic()
    with pytest.raises(VLLMConnectionError, match="after 3 attempts"):
        client.models()
    assert time.monotonic() - started >= 0.05 + 0.1  # two backoffs slept
    assert client.health() is False


def test_a_server_that_comes_up_during_retries_is_reached(tmp_path) -> None:
    port = free_port()
    httpd_box: list[ThreadingHTTPServer] = []

    def start_later() -> None:
        time.sleep(0.3)
        httpd = ThreadingHTTPServer(("127.0.0.1", port), _Slow)
        httpd_box.append(httpd)
        httpd.serve_forever()

    threading.Thread(target=start_later, daemon=True).start()
    client = VLLMClient(f"http://127.0.0.1:{port}", retries=6, backoff_s=0.1)
    try:
        assert client._request("GET", "/health") == ""
    finally:
        while not httpd_box:
            time.sleep(0.05)
        httpd_box[0].shutdown()
        httpd_box[0].server_close()


def test_read_timeouts_are_not_retried(slow_server: str) -> None:
    _Slow.hits = 0
    client = VLLMClient(slow_server, timeout_s=0.2, retries=3, backoff_s=0.01)
    with pytest.raises(VLLMTimeoutError):
        client.models()
    assert _Slow.hits == 1


def test_wait_until_healthy_gives_up() -> None:
    with pytest.raises(VLLMConnectionError, match="not healthy"):
        VLLMClient(f"http://127.0.0.1:{free_port()}").wait_until_healthy(timeout_s=0.3, poll_s=0.05)


def _response(status: int, body: bytes, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers["Content-Type"] = content_type
    return response


def test_error_bodies_of_every_vllm_generation_are_understood() -> None:
    current = error_from_response(
        _response(404, b'{"error": {"message": "The model `x` does not exist.", "type": "NotFoundError", "param": "model", "code": 404}}')
    )
    assert isinstance(current, VLLMNotFoundError) and current.param == "model" and "`x`" in current.message
    flat = error_from_response(
        _response(400, b'{"object": "error", "message": "bad top_p", "type": "BadRequestError", "param": null, "code": 400}')
    )
    assert isinstance(flat, VLLMBadRequestError) and flat.message == "bad top_p"
    fastapi = error_from_response(_response(422, b'{"detail": [{"loc": ["body", "prompt"]}]}'))
    assert isinstance(fastapi, VLLMBadRequestError) and "prompt" in fastapi.message
    text = error_from_response(_response(503, b"engine dead", "text/plain"))
    assert isinstance(text, VLLMServerError) and text.message == "engine dead"


def test_base_url_may_include_v1() -> None:
    assert VLLMClient("http://h:8000/v1/").base_url == "http://h:8000"
