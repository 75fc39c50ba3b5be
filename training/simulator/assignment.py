"""Which model version a session talks to: a pluggable ``VersionAssigner``.

Today: the one version the responder serves (``SingleVersion``), or ``--versions v1,v2``
split by a hash of the user (``HashSplit``, optionally weighted). A canary assignment plugs
in by implementing the same protocol (``assign`` receives the session start, so a ramp over
time is possible); ``ServedAssignment`` asks a Flywheel deployment's
``GET /api/v1/assignment`` for every session, as an IDE plugin does. Assignments are sticky per user: a user sees one version in every
session, as production routing by user does.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class VersionAssigner(Protocol):
    """Maps a session to the model version that serves it."""

    @property
    def versions(self) -> tuple[str, ...]:
        """Every version this assigner can return (the simulator asks the responder for them)."""
        ...

    def assign(self, *, user: str, at: datetime) -> str:
        """The version serving ``user``'s session starting ``at``; deterministic."""
        ...


class SingleVersion:
    """Every session goes to one version."""

    def __init__(self, version: str) -> None:
        if not version:
            raise ValueError("a version name is required")
        self._version = version

    @property
    def versions(self) -> tuple[str, ...]:
        return (self._version,)

    def assign(self, *, user: str, at: datetime) -> str:
        return self._version

    def __repr__(self) -> str:
        return f"SingleVersion({self._version!r})"


def user_bucket(user: str, *, salt: str = "") -> float:
    """A stable number in [0, 1) for ``user`` (first 64 bits of SHA-256)."""
    digest = hashlib.sha256(f"{salt}:{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class HashSplit:
    """Users split across ``versions`` by a hash of the user id, in proportion to ``weights``
    (even by default). A weighted two-way split is a fixed-share canary."""

    def __init__(self, versions: Sequence[str], *, weights: Sequence[float] | None = None, salt: str = "flywheel-sim") -> None:
        versions = tuple(versions)
        if not versions or len(set(versions)) != len(versions) or not all(versions):
            raise ValueError("versions must be distinct, non-empty names")
        weights = tuple(weights) if weights is not None else (1.0,) * len(versions)
        if len(weights) != len(versions) or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError("one non-negative weight per version, with a positive sum")
        total = sum(weights)
        self._versions = versions
        self._bounds = []
        running = 0.0
        for weight in weights:
            running += weight / total
            self._bounds.append(running)
        self._salt = salt

    @property
    def versions(self) -> tuple[str, ...]:
        return self._versions

    def assign(self, *, user: str, at: datetime) -> str:
        bucket = user_bucket(user, salt=self._salt)
        for version, bound in zip(self._versions, self._bounds):
            if bucket < bound:
                return version
        return self._versions[-1]

    def __repr__(self) -> str:
        return f"HashSplit({list(self._versions)!r})"


class ServedAssignment:
    """Each session asks ``GET /api/v1/assignment?session_id=&user=`` which version to use.

    ``versions`` lists every version the deployment may answer (the simulator checks the
    responder serves them); an answer outside it is an error. Sessions ask at their start,
    which is at least as often as the endpoint's ``poll_interval_s`` requires.
    """

    def __init__(self, base_url: str, api_key: str, *, versions: Sequence[str], timeout_s: float = 30.0) -> None:
        import requests

        if not versions:
            raise ValueError("at least one version is required")
        self.base_url = base_url.rstrip("/")
        self._versions = tuple(versions)
        self.timeout_s = timeout_s
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {api_key}"
        self.answers: dict[str, int] = {}
        """Sessions per version answered so far."""

    @property
    def versions(self) -> tuple[str, ...]:
        return self._versions

    def assign_session(self, *, session_id: str, user: str, at: datetime) -> str:
        response = self.http.get(
            f"{self.base_url}/api/v1/assignment", params={"session_id": session_id, "user": user}, timeout=self.timeout_s
        )
        if response.status_code != 200:
            raise RuntimeError(f"/api/v1/assignment answered {response.status_code}: {response.text[:300]}")
        version = response.json()["version"]
        if version not in self._versions:
            raise RuntimeError(f"/api/v1/assignment answered {version!r}, not one of {list(self._versions)}")
        self.answers[version] = self.answers.get(version, 0) + 1
        return version

    def assign(self, *, user: str, at: datetime) -> str:
        return self.assign_session(session_id=f"user-{user}", user=user, at=at)

    def __repr__(self) -> str:
        return f"ServedAssignment({self.base_url!r})"
