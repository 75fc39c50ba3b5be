"""How the integrations reach the scorer: over HTTP when ``FLYWHEEL_URL`` and
``FLYWHEEL_API_KEY`` are set, else in-process (the same ``score_trajectories``).

Over HTTP, ``RewardServiceClient`` keeps one connection per thread open between calls (an
RL loop scores every step). It is ``http.client`` with orjson rather than ``requests``: for
one trajectory, ``requests`` alone added ~0.6 ms to each call on the benchmark machine,
about the scorer's own time (``benchmarks/rewards.py`` measures both side by side). It
connects straight to ``FLYWHEEL_URL``; HTTP proxies from the environment are not used.
"""
from __future__ import annotations

import http.client
import os
import socket
import ssl
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from rewards.core.scoring import ScoredTrajectory, ScoringConfig, score_trajectories
from rewards.integrations.protocol import results_from_dicts

HTTP_TIMEOUT_S = 120.0
HTTP_BATCH = 256
SCORE_PATH = "/api/v1/rewards/score"
# What a kept-alive connection the server has meanwhile closed raises on its next use.
_STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class RewardServiceError(RuntimeError):
    """The reward service answered with an error, or did not answer (the message says what to fix)."""


class RewardServiceClient:
    """``POST`` JSON to the reward service over a kept-alive connection (one per thread).

    A connection the server closed while idle (its keep-alive timeout) is reopened and the
    request sent once more: scoring changes nothing on the server, so a resend is safe.
    """

    def __init__(self, url: str, api_key: str, *, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"FLYWHEEL_URL must be http(s)://host[:port][/prefix], not {url!r}")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                         "Accept": "application/json", "Host": parts.netloc}
        self._timeout_s = timeout_s
        self._local = threading.local()

    def post(self, path: str, document: Any) -> Any:
        """The decoded JSON answer of ``POST path``; raises RewardServiceError unless it is 200."""
        body = orjson.dumps(document)
        connection = getattr(self._local, "connection", None)
        try:
            if connection is not None and connection.sock is not None:  # None: the server said Connection: close
                try:
                    return self._exchange(connection, path, body)
                except _STALE_CONNECTION:
                    connection.close()
            self._local.connection = connection = self._connect()
            return self._exchange(connection, path, body)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise RewardServiceError(f"no answer from the reward service at {self.url} ({type(exc).__name__}: {exc}); "
                                     "check FLYWHEEL_URL and that the service is running") from exc

    def score(self, payloads: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The service's result dicts for ``payloads``, in order, sent in batches of ``HTTP_BATCH``."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(payloads), HTTP_BATCH):
            results += self.post(SCORE_PATH, {"trajectories": list(payloads[start:start + HTTP_BATCH])})["results"]
        return results

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            connection = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout_s,
                                                     context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
        connection.connect()
        # The last segment of a large body (a batch) must not wait for an ACK (Nagle).
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _exchange(self, connection: http.client.HTTPConnection, path: str, body: bytes) -> Any:
        connection.request("POST", self._prefix + path, body=body, headers=self._headers)
        answer = connection.getresponse()
        data = answer.read()
        if answer.status != 200:
            text = data[:500].decode("utf-8", "replace")
            raise RewardServiceError(f"{self.url}{path} answered {answer.status}: {text}")
        return orjson.loads(data)


_clients: dict[tuple[str, str], RewardServiceClient] = {}
_clients_lock = threading.Lock()


def reward_service_client(url: str, api_key: str) -> RewardServiceClient:
    """The process's client of the service at ``url`` with ``api_key`` (kept between calls)."""
    with _clients_lock:
        client = _clients.get((url, api_key))
        if client is None:
            client = _clients[(url, api_key)] = RewardServiceClient(url, api_key)
        return client


def reward_service_clients_close() -> None:
    """Close this thread's connections and forget the clients (a test ending its server)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def score_payloads(payloads: Sequence[dict[str, Any]]) -> list[ScoredTrajectory]:
    url = os.environ.get("FLYWHEEL_URL", "").rstrip("/")
    key = os.environ.get("FLYWHEEL_API_KEY", "")
    if url and key:
        return results_from_dicts(reward_service_client(url, key).score(payloads))
    return score_trajectories(list(payloads), config=ScoringConfig(), preference_model=_local_model())


def _local_model():
    """The active reward model when Django is configured in this process, else None."""
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return None
    from django.core.exceptions import AppRegistryNotReady, ImproperlyConfigured

    try:
        from rewards.scoring_setup import active_preference_model
        return active_preference_model()
    except (AppRegistryNotReady, ImproperlyConfigured):  # settings named but django.setup() not run here
        return None
