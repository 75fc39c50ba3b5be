"""The app server as a child process, for the tests and benchmarks that serve it for real.

One place for what each of them needs: a free port, start, wait until it answers, and stop
(SIGTERM, then kill), with the server's log in every error.
"""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path


class ServerNotReady(RuntimeError):
    """The server exited or did not answer in time; the message ends with its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:  # an HTTP answer, whatever its status: the app is serving
        return True
    except OSError:
        return False


def _log_tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""


@contextmanager
def server_process(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log_path: Path, ready_url: str, timeout_s: float = 120.0,
) -> Iterator[subprocess.Popen]:
    """Run ``command`` (stdout and stderr to ``log_path``), yield it once ``ready_url`` answers."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(list(command), cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while not _answers(ready_url):
            if process.poll() is not None:
                raise ServerNotReady(f"{command[0]} exited with {process.returncode}:\n{_log_tail(log_path)}")
            if time.monotonic() > deadline:
                raise ServerNotReady(f"{ready_url} did not answer within {timeout_s:.0f} s:\n{_log_tail(log_path)}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
