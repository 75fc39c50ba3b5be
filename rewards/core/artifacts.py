"""Reward-model artifacts: one directory per version, loaded behind one interface.

A directory holds ``manifest.json`` (``kind``, ``version``) and the kind's own files. Every
loaded model has ``version: str``, ``kind: str`` and
``score(prompts, responses) -> list[float]``. ``LOADERS`` is the explicit registry of kinds.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from rewards.core.baseline import BaselineRewardModel
from rewards.core.bradley_terry import BradleyTerryRewardModel

MANIFEST_FILE = "manifest.json"


class RewardModel(Protocol):
    version: str
    kind: str

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]: ...

    def save(self, directory: Path) -> None: ...


LOADERS: dict[str, Callable[..., RewardModel]] = {
    "baseline": BaselineRewardModel.load,
    "bradley_terry": BradleyTerryRewardModel.load,
}
KINDS: tuple[str, ...] = tuple(LOADERS)


def artifact_save(model: RewardModel, directory: Path, *, version: str, extra: dict[str, Any] | None = None) -> Path:
    """Write the model and its manifest into ``directory`` (created)."""
    model.save(directory)
    manifest = {"kind": model.kind, "version": version, **(extra or {})}
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return directory


def artifact_load(directory: Path) -> RewardModel:
    """Load the model in ``directory``. Raises FileNotFoundError / ValueError with what is wrong."""
    manifest_path = directory / MANIFEST_FILE
    if not manifest_path.is_file():
        raise FileNotFoundError(f"no reward-model manifest in {directory}")
    manifest = json.loads(manifest_path.read_text())
    loader = LOADERS.get(manifest.get("kind"))
    if loader is None:
        raise ValueError(f"unknown reward-model kind {manifest.get('kind')!r} in {directory}; known: {list(LOADERS)}")
    return loader(directory, version=manifest["version"])
