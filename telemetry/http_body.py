"""Reading request bodies within limits, gzip included (shared by the JSON and OTLP endpoints)."""
from __future__ import annotations

import zlib

from django.http import HttpRequest


class BodyTooLarge(Exception):
    pass


class BodyInvalid(Exception):
    pass


def request_body(request: HttpRequest, *, max_bytes: int) -> bytes:
    """The (decompressed) body, at most ``max_bytes`` both before and after gzip.

    Raises BodyTooLarge when over the limit, BodyInvalid for a body shorter than its
    Content-Length (cut off on the way), a corrupt gzip stream or an unsupported
    Content-Encoding.
    """
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"body of {int(declared)} bytes exceeds the {max_bytes}-byte limit")
    raw = request.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise BodyTooLarge(f"body exceeds the {max_bytes}-byte limit")
    if declared.isdigit() and len(raw) < int(declared):
        raise BodyInvalid(f"the body ended after {len(raw)} of its {int(declared)} declared bytes (Content-Length); resend it whole")
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in {"", "identity"}:
        return raw
    if encoding != "gzip":
        raise BodyInvalid(f"unsupported Content-Encoding {encoding!r}; send gzip or identity")
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        body = decompressor.decompress(raw, max_bytes + 1)
    except zlib.error as exc:
        raise BodyInvalid(f"corrupt gzip body: {exc}") from exc
    if len(body) > max_bytes or decompressor.unconsumed_tail:
        raise BodyTooLarge(f"decompressed body exceeds the {max_bytes}-byte limit")
    if not decompressor.eof:
        raise BodyInvalid("truncated gzip body")
    return body
