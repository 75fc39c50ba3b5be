"""Servers that close only once their request threads are done (or a bound has passed)."""
import http.client
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from training.serving.request_threads import JoinedRequestThreads


class _Server(JoinedRequestThreads, ThreadingHTTPServer):
    join_timeout_s = 5.0


def _handler(delay_s: float, started: threading.Event):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the thread waits for the next request

        def do_GET(self) -> None:
            started.set()
            time.sleep(delay_s)
            body = b"done"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler


def _serve(delay_s: float) -> tuple[_Server, threading.Event]:
    started = threading.Event()
    server = _Server(("127.0.0.1", 0), _handler(delay_s, started))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, started


def _stop(server: _Server) -> float:
    began = time.monotonic()
    server.shutdown()
    server.server_close()
    return time.monotonic() - began


def test_a_request_in_flight_completes_and_its_thread_is_joined():
    server, started = _serve(delay_s=0.5)
    connection = http.client.HTTPConnection(*server.server_address, timeout=10)
    answers: list[bytes] = []

    def ask() -> None:
        connection.request("GET", "/")
        answers.append(connection.getresponse().read())

    client = threading.Thread(target=ask)
    client.start()
    assert started.wait(5)
    _stop(server)
    client.join(5)
    assert answers == [b"done"]
    assert not server._request_threads  # every request thread had ended when close returned


def test_an_idle_keep_alive_connection_does_not_hold_the_close():
    server, _ = _serve(delay_s=0.0)
    connection = http.client.HTTPConnection(*server.server_address, timeout=10)
    connection.request("GET", "/")
    assert connection.getresponse().read() == b"done"
    assert len(server._request_threads) == 1  # still waiting for this connection's next request

    took = _stop(server)
    assert took < 2.0
    assert not server._request_threads
    connection.close()


def test_a_hung_request_is_waited_for_only_up_to_the_bound(caplog):
    server, started = _serve(delay_s=3.0)
    server.join_timeout_s = 0.3
    connection = http.client.HTTPConnection(*server.server_address, timeout=10)
    threading.Thread(target=lambda: connection.request("GET", "/"), daemon=True).start()
    assert started.wait(5)

    with caplog.at_level(logging.WARNING, logger="training.serving.request_threads"):
        took = _stop(server)
    assert 0.25 < took < 2.0
    assert "1 request thread(s) still running" in caplog.text
