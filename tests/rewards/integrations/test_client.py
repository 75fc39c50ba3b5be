"""The integrations' HTTP client: one kept-alive connection, reopened when the server closed it."""
from __future__ import annotations

import socket
import threading

import pytest

from rewards.integrations.client import SCORE_PATH, RewardServiceClient, RewardServiceError


@pytest.mark.django_db(transaction=True)
def test_one_connection_serves_every_call(live_server, api_key):
    client = RewardServiceClient(live_server.url, api_key)
    try:
        first = client.score([{"prompt": "Windows, cmd.exe. List files.", "response": "$ dir"}])
        connection = client._local.connection.sock
        for _ in range(3):
            assert client.score([{"prompt": "Windows, cmd.exe. List files.", "response": "$ dir"}]) == first
        assert client._local.connection.sock is connection
        with pytest.raises(RewardServiceError, match=r"answered 400: .*\"field\":\"trajectories\""):
            client.post(SCORE_PATH, {"trajectories": []})
        assert client._local.connection.sock is connection  # an error answer keeps the connection
    finally:
        client.close()


def one_request_per_connection_server() -> tuple[socket.socket, list[int]]:
    """A server that answers one request per connection and then closes it without saying
    so, as a server does when a kept-alive connection's idle timeout runs out."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                connections.append(1)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += conn.recv(65536)
                answer = b'{"results": [%d]}' % len(connections)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer))

    threading.Thread(target=serve, daemon=True).start()
    return listener, connections


def test_a_connection_the_server_closed_is_reopened():
    listener, connections = one_request_per_connection_server()
    client = RewardServiceClient(f"http://127.0.0.1:{listener.getsockname()[1]}", "fw_x_y")
    try:
        assert client.post(SCORE_PATH, {"n": 1}) == {"results": [1]}
        assert client.post(SCORE_PATH, {"n": 2}) == {"results": [2]}
        assert len(connections) == 2
    finally:
        client.close()
        listener.close()


def test_an_unreachable_service_says_what_to_check():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RewardServiceError, match="check FLYWHEEL_URL"):
        RewardServiceClient(f"http://127.0.0.1:{port}", "fw_x_y", timeout_s=2).post(SCORE_PATH, {})
    with pytest.raises(ValueError, match="FLYWHEEL_URL"):
        RewardServiceClient("127.0.0.1:8000", "fw_x_y")
