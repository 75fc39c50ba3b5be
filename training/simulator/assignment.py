"""Which model version a session talks to: a pluggable ``VersionAssigner``.

Today: the one version the responder serves (``SingleVersion``), or ``--versions v1,v2``
split by a hash of the user (``HashSplit``, optionally weighted). A canary assignment plugs
in by implementing the same protocol (``assign`` receives the session start, so a ramp over
time is possible). Assignments are sticky per user: a user sees one version in every
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
