"""The app served in-process on a local port, for the demo, the simulator, ``manage.py serve``
and benchmarks.

Django's threaded WSGI server runs in a thread, so telemetry goes through the real HTTP
ingestion endpoint exactly as an IDE plugin would send it, with no servers to install.
It serves ``config.wsgi.application``, the application production serves.

Django's development server does not de-chunk request bodies: a ``Transfer-Encoding:
chunked`` body (OpenTelemetry's JS exporters send OTLP that way) would read as empty, and
its chunk framing would then be parsed as the next request. ``ChunkedRequestHandler``
de-chunks such a body before the application sees it.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

from training.serving.request_threads import JoinedRequestThreads

MAX_CHUNK_LINE = 1024


class ChunkedBodyInvalid(ValueError):
    """The chunked framing is broken or ends before its last chunk."""


def chunked_body_read(stream, *, limit: int) -> tuple[bytes, bool]:
    """De-chunk a body from ``stream``: (at most ``limit`` bytes of it, whether it was complete).

    Stops reading once ``limit`` bytes are held; the caller must then close the connection.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        line = stream.readline(MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n") or len(line) > MAX_CHUNK_LINE:
            raise ChunkedBodyInvalid("the body ends inside a chunk-size line" if not line.endswith(b"\n") else "chunk-size line too long")
        try:
            chunk_size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ChunkedBodyInvalid(f"bad chunk size {line[:40]!r}") from None
        if chunk_size < 0:
            raise ChunkedBodyInvalid(f"bad chunk size {line[:40]!r}")
        if chunk_size == 0:
            while stream.readline(MAX_CHUNK_LINE + 1) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields: not used
            return b"".join(parts), True
        wanted = min(chunk_size, limit - size)
        data = stream.read(wanted)
        if len(data) < wanted:
            raise ChunkedBodyInvalid(f"the body ends inside a chunk ({len(data)} of {chunk_size} bytes)")
        parts.append(data)
        size += len(data)
        if size >= limit:
            return b"".join(parts), False
        if stream.readline(MAX_CHUNK_LINE + 1) not in (b"\r\n", b"\n"):
            raise ChunkedBodyInvalid("a chunk is not followed by CRLF")


class _PrefixedReader:
    """A connection's input with a de-chunked body put back in front of what follows it."""

    def __init__(self, raw) -> None:
        self.raw = raw
        self.prefix = b""

    def read(self, size: int = -1) -> bytes:
        if not self.prefix:
            return self.raw.read(size)
        if size is None or size < 0:
            data, self.prefix = self.prefix + self.raw.read(), b""
            return data
        data, self.prefix = self.prefix[:size], self.prefix[size:]
        return data

    def readline(self, size: int = -1) -> bytes:
        if not self.prefix:
            return self.raw.readline(size)
        end = self.prefix.find(b"\n") + 1 or len(self.prefix)
        if size is not None and size >= 0:
            end = min(end, size)
        data, self.prefix = self.prefix[:end], self.prefix[end:]
        return data

    def __getattr__(self, name: str):
        return getattr(self.raw, name)


class ChunkedRequestHandler(WSGIRequestHandler):
    """Django's request handler, reading ``Transfer-Encoding: chunked`` bodies in full."""

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without TCP_NODELAY a keep-alive client
        # waits out Nagle + delayed ACK (~40 ms) on every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args) -> None:  # keep the demo's output readable
        pass

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return True
        from config.wsgi import body_limit

        try:
            body, complete = chunked_body_read(self.rfile, limit=body_limit() + 1)
        except ChunkedBodyInvalid as exc:
            self.close_connection = True
            self.send_error(400, f"Malformed chunked request body: {exc}")
            return False
        if not complete:
            self.close_connection = True  # the rest of the body is still on the wire
        del self.headers["Transfer-Encoding"]
        del self.headers["Content-Length"]
        self.headers["Content-Length"] = str(len(body))
        if not isinstance(self.rfile, _PrefixedReader):
            self.rfile = _PrefixedReader(self.rfile)
        self.rfile.prefix = body
        return True


class LocalWSGIServer(JoinedRequestThreads, ThreadedWSGIServer):
    """Django's threaded server, closing only once its request threads are done."""


def local_server(host: str = "127.0.0.1", port: int = 0) -> LocalWSGIServer:
    """The embedded default's server (not started): the app, static files, chunked bodies."""
    from config.wsgi import application

    server = LocalWSGIServer((host, port), ChunkedRequestHandler, allow_reuse_address=port != 0)
    # Static files too (the dashboard's charts), as runserver does, with DEBUG off.
    server.set_app(StaticFilesHandler(application))
    return server


@contextmanager
def local_app_server() -> Iterator[str]:
    """Serve the Django app on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    server = local_server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _fmt(value, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def summary_table(summary: list[dict]) -> str:
    """The headline metrics per model version (``metrics_summary`` rows) as a text table."""
    header = f"{'version':<10}{'events':>9}{'retention@5m':>14}{'tool err':>10}{'tokens/task':>13}{'accept':>9}{'success':>9}"
    lines = [header, "-" * len(header)]
    for row in summary:
        lines.append(
            f"{row['model_version']:<10}{row['events']:>9}"
            f"{_fmt(row['code_retention']['5m'], '{:.1%}'):>14}"
            f"{_fmt(row['tool_call_error_rate'], '{:.1%}'):>10}"
            f"{_fmt(row['tokens_per_task'], '{:,.0f}'):>13}"
            f"{_fmt(row['acceptance_rate'], '{:.1%}'):>9}"
            f"{_fmt(row['task_success_rate'], '{:.1%}'):>9}"
        )
    return "\n".join(lines)
