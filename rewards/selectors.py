"""Rewards reads: the active reward model (loaded once per process), versions and datasets."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import DatabaseError
from django.db.models import QuerySet

from rewards.core.export import pairs_load
from rewards.core.pairs import PreferencePair
from rewards.models import PreferenceDataset, RewardModelVersion
from telemetry.models import Organization

if TYPE_CHECKING:
    from rewards.core.artifacts import RewardModel

logger = logging.getLogger("flywheel.rewards")

ACTIVE_CHECK_S = 1.0
"""How often a process asks the database which version is active (a one-row indexed read)."""


@dataclass
class _ActiveSlot:
    checked_at: float = float("-inf")
    key: tuple[int, str] | None = None
    model: RewardModel | None = None


_slot = _ActiveSlot()
_load_lock = threading.Lock()


def _active_row() -> tuple[int, str, str] | None:
    return RewardModelVersion.objects.filter(is_active=True).values_list("id", "version", "artifact_path").first()


def reward_model_active() -> RewardModel | None:
    """The active reward model, loaded once per process; None when no version is active.

    Cheap per call: the active version id is looked up at most every ``ACTIVE_CHECK_S``
    seconds. When another version is promoted, the first caller after the check loads it
    while every other caller keeps scoring with the previous model, then the reference is
    swapped: no request waits for a load and none fails during the swap. A version whose
    artifact cannot be loaded, or a database that cannot be read, is logged and the
    previous model keeps serving.
    """
    now = time.monotonic()
    if now - _slot.checked_at < ACTIVE_CHECK_S:
        return _slot.model
    if not _load_lock.acquire(blocking=_slot.key is None):
        return _slot.model  # another thread is checking or loading; serve the current model
    try:
        if time.monotonic() - _slot.checked_at < ACTIVE_CHECK_S:
            return _slot.model
        try:
            row = _active_row()
        except DatabaseError as exc:  # the database is away: keep serving what is loaded
            logger.warning("cannot read the active reward-model version (%s); keeping %s", exc, getattr(_slot.model, "version", None))
            _slot.checked_at = time.monotonic()
            return _slot.model
        key = None if row is None else (row[0], row[1])
        if key != _slot.key:
            if row is None:
                _slot.model = None
            else:
                # Imported here: torch and scikit-learn load only in processes that score
                # (not in every process that resolves URLs, e.g. the consumer's system checks).
                from rewards.core.artifacts import artifact_load

                try:
                    _slot.model = artifact_load(Path(row[2]))
                except (OSError, ValueError) as exc:
                    logger.error("cannot load reward model %s from %s: %s; keeping %s", row[1], row[2], exc,
                                 getattr(_slot.model, "version", None))
                    _slot.checked_at = time.monotonic()
                    return _slot.model
            _slot.key = key
        _slot.checked_at = time.monotonic()
        return _slot.model
    finally:
        _load_lock.release()


def reward_model_active_reset() -> None:
    """Forget the loaded model (tests; a process that must re-read at once)."""
    with _load_lock:
        _slot.checked_at, _slot.key, _slot.model = float("-inf"), None, None


def reward_model_version_active() -> RewardModelVersion | None:
    """The registry row of the active version (one for every organization), or None."""
    return RewardModelVersion.objects.filter(is_active=True).first()


def reward_model_versions(*, org: Organization) -> QuerySet[RewardModelVersion]:
    """Versions trained on ``org``'s data, newest first."""
    return RewardModelVersion.objects.filter(org=org).select_related("dataset", "parent").order_by("-id")


def reward_model_get(*, version: str) -> RewardModelVersion:
    """Raises RewardModelVersion.DoesNotExist."""
    return RewardModelVersion.objects.select_related("dataset").get(version=version)


def preference_dataset_latest(*, org: Organization) -> PreferenceDataset | None:
    return PreferenceDataset.objects.filter(org=org).order_by("-id").first()


def preference_dataset_get(*, version: str) -> PreferenceDataset:
    """Raises PreferenceDataset.DoesNotExist."""
    return PreferenceDataset.objects.get(version=version)


def preference_pairs_of(*, dataset: PreferenceDataset, split: str | None = None) -> list[PreferencePair]:
    """The dataset snapshot's pairs (all, or one split), read from its files."""
    pairs = pairs_load(Path(dataset.path))
    return pairs if split is None else [pair for pair in pairs if pair.split == split]


def reward_models_summary(*, org: Organization) -> dict:
    """What the dashboard's reward-models page shows: ``org``'s versions (newest first) and the active one.

    The active version is global (the service scores with one model); it is named here only
    when it was trained on ``org``'s data.
    """
    versions = []
    for record in reward_model_versions(org=org):
        versions.append({
            "version": record.version, "kind": record.kind, "dataset": record.dataset.version,
            "parent": record.parent.version if record.parent else None,
            "pairwise_accuracy": record.pairwise_accuracy, "ece": record.ece,
            "calibration": record.calibration.get("bins", []),
            "train_pairs": record.train_pairs, "validation_pairs": record.validation_pairs,
            "train_seconds": record.train_seconds, "created_at": record.created_at,
            "promoted_at": record.promoted_at, "is_active": record.is_active,
        })
    active = next((v["version"] for v in versions if v["is_active"]), None)
    return {"versions": versions, "active": active}
