"""config.wsgi: a body the server de-chunked (wsgi.input_terminated) reaches Django whole
(``BodyToEof``), and a worker has imported its views before its first request."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from config.wsgi import BodyToEof, read_to_eof


class Recorder:
    """A WSGI app that records what it was given."""

    def __init__(self) -> None:
        self.environ: dict | None = None

    def __call__(self, environ, start_response):
        self.environ = environ
        start_response("200 OK", [])
        return [environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))]


def call(app, environ):
    statuses = []
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], body


class TrickleStream:
    """A de-chunked input that hands out a few bytes per read, as a socket does."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self.data, self.step = data, step

    def read(self, size: int = -1) -> bytes:
        size = self.step if size < 0 else min(size, self.step)
        out, self.data = self.data[:size], self.data[size:]
        return out


def test_terminated_input_without_length_is_read_to_eof():
    recorder = Recorder()
    status, body = call(BodyToEof(recorder, max_bytes=1000), {"wsgi.input_terminated": True, "wsgi.input": TrickleStream(b"x" * 300)})
    assert (status, body, recorder.environ["CONTENT_LENGTH"]) == ("200 OK", b"x" * 300, "300")


def test_declared_lengths_and_unterminated_inputs_are_left_alone():
    recorder = Recorder()
    stream = io.BytesIO(b"abcdef")
    call(BodyToEof(recorder, max_bytes=1000), {"wsgi.input_terminated": True, "wsgi.input": stream, "CONTENT_LENGTH": "3"})
    assert recorder.environ["wsgi.input"] is stream and recorder.environ["CONTENT_LENGTH"] == "3"
    call(BodyToEof(recorder, max_bytes=1000), {"wsgi.input": stream})
    assert "CONTENT_LENGTH" not in recorder.environ  # a server that did not de-chunk: nothing to trust


def test_a_body_over_the_limit_reaches_the_app_over_the_limit_not_cut_to_fit():
    recorder = Recorder()
    call(BodyToEof(recorder, max_bytes=100), {"wsgi.input_terminated": True, "wsgi.input": io.BytesIO(b"y" * 5000)})
    assert recorder.environ["CONTENT_LENGTH"] == "101"


def test_a_body_the_server_cannot_deliver_is_400():
    class Broken:
        def read(self, size=-1):
            raise OSError("chunk missing terminator")

    recorder = Recorder()
    status, body = call(BodyToEof(recorder, max_bytes=100), {"wsgi.input_terminated": True, "wsgi.input": Broken()})
    assert status.startswith("400") and b"could not be read in full" in body and recorder.environ is None


def test_read_to_eof_stops_at_the_limit():
    assert read_to_eof(TrickleStream(b"z" * 50), limit=20) == b"z" * 20
    assert read_to_eof(io.BytesIO(b""), limit=20) == b""


def test_importing_the_application_imports_the_views_before_any_request():
    # A fresh process, as a gunicorn worker boots: Django alone would import the URLconf on the first request.
    probe = "import sys, config.wsgi; print(' '.join(m for m in ('config.urls', 'telemetry.api', 'training.urls') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).resolve().parents[1],
                            capture_output=True, text=True, check=True, timeout=120).stdout.split()
    assert loaded == ["config.urls", "telemetry.api", "training.urls"]
