"""telemetry.local_app: the embedded server de-chunks request bodies itself."""
from __future__ import annotations

import io

import pytest

from telemetry.local_app import ChunkedBodyInvalid, _PrefixedReader, chunked_body_read


def test_chunks_extensions_and_trailers():
    wire = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT REQUEST"
    stream = io.BytesIO(wire)
    assert chunked_body_read(stream, limit=100) == (b"hello world", True)
    assert stream.read() == b"NEXT REQUEST"  # the connection's next request is untouched


def test_an_empty_chunked_body():
    assert chunked_body_read(io.BytesIO(b"0\r\n\r\n"), limit=100) == (b"", True)


def test_reading_stops_at_the_limit():
    body, complete = chunked_body_read(io.BytesIO(b"a\r\n0123456789\r\n0\r\n\r\n"), limit=4)
    assert (body, complete) == (b"0123", False)


@pytest.mark.parametrize("wire", [
    b"zz\r\nhello\r\n0\r\n\r\n",  # not hex
    b"5\r\nhel",  # ends inside a chunk
    b"5\r\nhelloXX0\r\n\r\n",  # no CRLF after the chunk
    b"5\r\nhello\r\n",  # no last chunk
    b"-5\r\nhello\r\n0\r\n\r\n",
    b"1" * 2000 + b"\r\n",  # a chunk-size line too long
])
def test_broken_framing_is_invalid(wire):
    with pytest.raises(ChunkedBodyInvalid):
        chunked_body_read(io.BytesIO(wire), limit=100)


def test_prefixed_reader_serves_the_body_then_the_connection():
    reader = _PrefixedReader(io.BytesIO(b"GET / HTTP/1.1\r\n"))
    reader.prefix = b"line one\nrest"
    assert reader.readline() == b"line one\n"
    assert reader.read(2) == b"re"
    assert reader.read(2) == b"st"
    assert reader.readline(65537) == b"GET / HTTP/1.1\r\n"
