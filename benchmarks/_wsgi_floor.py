"""The least a WSGI app can do for ``POST /api/v1/rewards/score``: read the body and answer a
fixed ``{"results": []}``. ``benchmarks/rewards.py`` serves it with the deployment's gunicorn
settings to measure the round trip that no Django view can go below."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"results": []}'


def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]
