"""The WSGI application, as production serves it: ``bash scripts/serve.sh`` (gunicorn, gthread
workers, settings in ``config/gunicorn.conf.py``); the embedded default serves the same
application in-process (``telemetry.local_app``).

Chunked request bodies: OpenTelemetry's JS exporters post OTLP with ``Transfer-Encoding:
chunked`` and no ``Content-Length``. Django reads a WSGI body only up to CONTENT_LENGTH (0
when absent), so such an export would read as empty and be answered 200 with nothing stored.
A server that de-chunks the body itself says so with ``wsgi.input_terminated`` (gunicorn
does); ``BodyToEof`` then reads the body to its end, bounded, and gives Django its length.
"""
from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

WsgiApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]
READ_STEP = 64 * 1024


class BodyToEof:
    """WSGI middleware: a body without Content-Length on a terminated input is read in full.

    At most ``max_bytes + 1`` bytes are kept: a longer body reaches Django with that length,
    over every body limit, so it is refused as too large rather than cut silently. A body
    the server cannot deliver in full (a broken chunk, a client gone mid-body) is answered
    400 here, before Django could mistake what arrived for the whole request.
    """

    def __init__(self, app: WsgiApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            try:
                body = read_to_eof(environ["wsgi.input"], limit=self.max_bytes + 1)
            except Exception as exc:  # whatever the server raises for a body it could not read
                return _bad_request(start_response, f"the request body could not be read in full ({type(exc).__name__}: {exc}); resend it")
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


def read_to_eof(stream, *, limit: int) -> bytes:
    """Read ``stream`` until EOF or ``limit`` bytes, whichever comes first."""
    parts: list[bytes] = []
    size = 0
    while size < limit:
        data = stream.read(min(READ_STEP, limit - size))
        if not data:
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)


def _bad_request(start_response: Callable, message: str) -> list[bytes]:
    body = message.encode()
    start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def body_limit() -> int:
    """The largest body any endpoint accepts; one byte more is refused as too large."""
    from django.conf import settings

    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.TELEMETRY_MAX_BODY_BYTES)


def urlconf_load() -> None:
    """Import every view now, in each worker as it boots. Django imports the URLconf (and with
    it the views, scipy among their imports) on the first request, which then took 1.3 s
    instead of 2 ms, with every request arriving meanwhile waiting on it."""
    from django.urls import get_resolver

    get_resolver().url_patterns


django_application = get_wsgi_application()
urlconf_load()
application = BodyToEof(django_application, max_bytes=body_limit())
