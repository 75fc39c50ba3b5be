"""Malformed HTTP that a well-behaved client never sends: still a 4xx JSON error, never a 500."""
from __future__ import annotations

import requests

from training.serving.local_server import MAX_BODY_BYTES, PolicyServer


def _error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == status and error["message"]
    return error


def test_health_is_an_empty_200(server: PolicyServer) -> None:
    response = requests.get(f"{server.url}/health", timeout=10)
    assert response.status_code == 200 and response.content == b""


def test_invalid_json_body(server: PolicyServer) -> None:
    response = requests.post(f"{server.url}/v1/completions", data=b"{not json", timeout=10)
    assert "Invalid JSON" in _error(response, 400)["message"]


def test_body_must_be_an_object(server: PolicyServer) -> None:
    for data in (b"[1, 2]", b'"text"', b"", b"\xff\xfe"):
        _error(requests.post(f"{server.url}/v1/chat/completions", data=data, timeout=10), 400)


def test_unknown_route_and_wrong_method(server: PolicyServer) -> None:
    _error(requests.get(f"{server.url}/v1/nothing", timeout=10), 404)
    _error(requests.get(f"{server.url}/v1/completions", timeout=10), 405)
    _error(requests.delete(f"{server.url}/v1/models", timeout=10), 405)


def test_oversized_body_is_413(server: PolicyServer) -> None:
    response = requests.post(f"{server.url}/v1/completions", data=b"x" * (MAX_BODY_BYTES + 1), timeout=30)
    _error(response, 413)


def test_unknown_fields_are_ignored_like_vllm(server: PolicyServer) -> None:
    body = {"model": "policy-v0", "prompt": "<|bos|>", "max_tokens": 2, "temperature": 0, "user": "x", "frequency_penalty": 0}
    assert requests.post(f"{server.url}/v1/completions", json=body, timeout=30).status_code == 200


def test_model_field_is_optional_and_defaults_to_the_base(server: PolicyServer) -> None:
    response = requests.post(f"{server.url}/v1/completions", json={"prompt": "<|bos|>", "max_tokens": 2}, timeout=30)
    assert response.status_code == 200 and response.json()["model"] == "policy-v0"
    _error(requests.post(f"{server.url}/v1/completions", json={"model": 7, "prompt": "x"}, timeout=10), 400)


def test_keep_alive_survives_errors(server: PolicyServer) -> None:
    with requests.Session() as session:
        for _ in range(3):
            _error(session.post(f"{server.url}/v1/completions", data=b"{", timeout=10), 400)
            assert session.get(f"{server.url}/v1/models", timeout=10).status_code == 200
