"""Request bodies as real clients send them, on both servers: the embedded default's
(``telemetry.local_app``) and the production one (``scripts/serve.sh``, gunicorn).

OpenTelemetry's JS exporters post OTLP with ``Transfer-Encoding: chunked`` and no
Content-Length: such a body must be read in full, and an empty or cut-off body must never be
answered as a success.
"""
from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import urlsplit

import pytest
from google.protobuf import json_format

from telemetry.models import Event
from telemetry.services import api_key_create, organization_get_or_create
from tests.factories import make_event
from tests.telemetry.fixtures.otlp_builders import SECOND, T0, log_record, logs_export, metrics_export, token_histogram

pytestmark = pytest.mark.django_db(transaction=True)
SERVERS = ["embedded_server", "gunicorn_server"]


@pytest.fixture(params=SERVERS)
def server(request) -> str:
    return request.getfixturevalue(request.param)


@pytest.fixture
def org():
    return organization_get_or_create(slug="bodies")


@pytest.fixture
def key(org) -> str:
    return api_key_create(org=org)


def qwen_logs(session: str) -> bytes:
    """Two Qwen Code records (as 0.24.4 sends them): a failed shell call and its API response."""
    common = {"session.id": session, "prompt_id": f"{session}########0"}
    return _json(logs_export({"service.name": "qwen-code"}, [
        log_record({**common, "event.name": "qwen-code.api_response", "model": "qwen3-coder-plus", "input_token_count": 1400,
                    "output_token_count": 30, "cached_content_token_count": 200, "duration_ms": 520}, time=T0),
        log_record({**common, "event.name": "qwen-code.tool_call", "function_name": "run_shell_command", "success": False,
                    "error_type": "shell_execute_error", "duration_ms": 80,
                    "error": "Command: nope\nOutput: bash: line 1: nope: command not found\nExit Code: 127"}, time=T0 + SECOND),
    ])).encode()


def _json(message) -> str:
    return json_format.MessageToJson(message)


def chunks(body: bytes, size: int = 97) -> list[bytes]:
    return [body[i:i + size] for i in range(0, len(body), size)]


def connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)


def post_chunked(conn: http.client.HTTPConnection, path: str, body: bytes, key: str) -> tuple[int, bytes]:
    """POST with Transfer-Encoding: chunked and no Content-Length, as the OTel JS exporters do."""
    conn.request("POST", path, body=iter(chunks(body)), encode_chunked=True,
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    response = conn.getresponse()
    return response.status, response.read()


def test_chunked_otlp_logs_metrics_and_events_are_stored(server, org, key):
    conn = connection(server)
    # Three chunked requests on one kept-alive connection: each body is read in full, and the
    # chunk framing is never parsed as a request of its own.
    status, answer = post_chunked(conn, "/v1/logs", qwen_logs("chunked-1"), key)
    assert (status, answer) == (200, b"{}")
    metrics = metrics_export({"service.name": "acme-agent"}, [token_histogram([
        ({"gen_ai.request.model": "acme-coder", "session.id": "chunked-2", "gen_ai.token.type": "input"}, 700.0),
        ({"gen_ai.request.model": "acme-coder", "session.id": "chunked-2", "gen_ai.token.type": "output"}, 70.0),
    ], time=T0)])
    assert post_chunked(conn, "/v1/metrics", _json(metrics).encode(), key)[0] == 200
    batch = json.dumps({"events": [make_event("tool.call", session_id="chunked-3") for _ in range(3)]}).encode()
    assert post_chunked(conn, "/api/v1/events", batch, key)[0] == 202
    conn.close()

    tool = Event.objects.get(org=org, session_id="chunked-1", type="tool.call")
    assert (tool.payload["status"], tool.payload["error_kind"], tool.payload["exit_code"]) == ("error", "invalid_for_shell", 127)
    assert Event.objects.get(org=org, session_id="chunked-1", type="llm.usage").payload["input_tokens"] == 1200
    assert Event.objects.get(org=org, session_id="chunked-2").payload == {"input_tokens": 700, "output_tokens": 70}
    assert Event.objects.filter(org=org, session_id="chunked-3").count() == 3


@pytest.mark.parametrize("path", ["/v1/logs", "/v1/metrics", "/v1/traces", "/api/v1/events"])
def test_empty_bodies_are_refused(server, org, key, path):
    for chunked in (False, True):
        conn = connection(server)
        if chunked:
            status, answer = post_chunked(conn, path, b"", key)
        else:
            conn.request("POST", path, body=b"", headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
            response = conn.getresponse()
            status, answer = response.status, response.read()
        conn.close()
        assert status == 400, (path, chunked, answer)
    assert not Event.objects.filter(org=org).exists()


def raw_exchange(url: str, head: bytes, body: bytes) -> bytes:
    """Send raw bytes, half-close the connection (the client is done), read the whole answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return answer


@pytest.mark.parametrize("path", ["/v1/logs", "/api/v1/events"])
def test_a_body_shorter_than_its_content_length_is_refused(server, org, key, path):
    body = qwen_logs("cut-1") if path == "/v1/logs" else json.dumps({"events": [make_event("tool.call") for _ in range(5)]}).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    answer = raw_exchange(server, head, body[: len(body) // 2])
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"declared bytes" in answer
    assert not Event.objects.filter(org=org).exists()


def test_a_chunked_body_cut_off_mid_chunk_is_refused(server, org, key):
    body = qwen_logs("cut-2")
    head = (f"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer {key}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    cut = f"{len(body):x}\r\n".encode() + body[: len(body) // 2]  # a chunk that never ends, no last chunk
    answer = raw_exchange(server, head, cut)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert not Event.objects.filter(org=org).exists()
