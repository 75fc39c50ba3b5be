"""The app served in-process on a free local port, for the demo, the simulator and benchmarks.

Django's threaded WSGI server runs in a thread, so telemetry goes through the real HTTP
ingestion endpoint exactly as an IDE plugin would send it, with no servers to install.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application


class _QuietHandler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without TCP_NODELAY a keep-alive client
        # waits out Nagle + delayed ACK (~40 ms) on every request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args) -> None:  # keep the demo's output readable
        pass


@contextmanager
def local_app_server() -> Iterator[str]:
    """Serve the Django app on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    # Static files too (the dashboard's charts), as runserver does, with DEBUG off.
    server.set_app(StaticFilesHandler(get_wsgi_application()))
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
