"""Atomic, resumable checkpoints of an RL run, in Hugging Face format.

``<output_dir>/checkpoints/step-000010/`` holds what ``training.serving`` and vLLM load —
``config.json`` + ``model.safetensors`` + tokenizer (full fine-tuning) or
``adapter_config.json`` + ``adapter_model.safetensors`` + tokenizer (LoRA, adapter only) —
plus ``flywheel_policy.json`` (metadata), ``rl_state.json`` (step, curriculum, RNG,
metric history) and ``optimizer.pt`` for resuming.

Atomic: everything is written to a hidden temporary directory next to the target, which
is renamed into place only when complete. A crash leaves either the previous checkpoint
or the new one, never a half-written one; leftover temporary directories are removed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

STATE_FILE = "rl_state.json"
OPTIMIZER_FILE = "optimizer.pt"
STEP_DIR = re.compile(r"^step-(\d{6})$")
TMP_PREFIX = ".tmp-"


def checkpoint_name(step: int) -> str:
    """Directory name of the checkpoint after ``step`` optimizer steps."""
    return f"step-{step:06d}"


def checkpoint_write_atomic(target: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_dir)`` then rename ``tmp_dir`` to ``target`` (replacing an older one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{TMP_PREFIX}{target.name}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        write(tmp)
        _fsync_dir(tmp)
        if target.exists():
            trash = target.parent / f"{TMP_PREFIX}old-{target.name}-{uuid.uuid4().hex[:8]}"
            os.rename(target, trash)
            os.rename(tmp, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.rename(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def checkpoint_latest(checkpoints_dir: Path) -> Path | None:
    """The complete checkpoint with the highest step, or None. Removes stale temporary dirs."""
    if not checkpoints_dir.is_dir():
        return None
    for stale in checkpoints_dir.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    steps = [(int(m.group(1)), p) for p in checkpoints_dir.iterdir() if (m := STEP_DIR.match(p.name)) and (p / STATE_FILE).is_file()]
    return max(steps)[1] if steps else None


def checkpoint_prune(checkpoints_dir: Path, *, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` step checkpoints; returns the deleted paths."""
    steps = sorted((int(m.group(1)), p) for p in checkpoints_dir.iterdir() if (m := STEP_DIR.match(p.name)))
    doomed = [p for _, p in steps[:-keep]] if keep > 0 else []
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)
    return doomed


def checkpoint_state(path: Path) -> dict[str, Any]:
    """The run state saved with a checkpoint."""
    return json.loads((path / STATE_FILE).read_text())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
