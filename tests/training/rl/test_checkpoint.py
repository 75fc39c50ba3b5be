"""Checkpoints appear whole or not at all; the latest complete one is found for resuming."""
from __future__ import annotations

import pytest

from training.rl.checkpoint import STATE_FILE, checkpoint_latest, checkpoint_prune, checkpoint_write_atomic


def write_state(step: int):
    def write(tmp):
        (tmp / "model.safetensors").write_bytes(b"weights")
        (tmp / STATE_FILE).write_text(f'{{"step": {step}}}')
    return write


def test_a_failed_write_leaves_no_checkpoint_and_no_temporary_dir(tmp_path):
    def broken(tmp):
        (tmp / "model.safetensors").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        checkpoint_write_atomic(tmp_path / "step-000002", broken)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rewrite_keeps_the_old_checkpoint(tmp_path):
    target = checkpoint_write_atomic(tmp_path / "step-000002", write_state(2))
    with pytest.raises(RuntimeError):
        checkpoint_write_atomic(target, lambda tmp: (_ for _ in ()).throw(RuntimeError("killed")))
    assert (target / STATE_FILE).read_text() == '{"step": 2}'
    assert [p.name for p in tmp_path.iterdir()] == ["step-000002"]


def test_latest_is_the_highest_complete_step_and_stale_temporaries_go(tmp_path):
    checkpoint_write_atomic(tmp_path / "step-000002", write_state(2))
    checkpoint_write_atomic(tmp_path / "step-000004", write_state(4))
    (tmp_path / "step-000006").mkdir()  # no state file: not a checkpoint of ours
    (tmp_path / ".tmp-step-000008-abcd").mkdir()  # a crash mid-write
    assert checkpoint_latest(tmp_path).name == "step-000004"
    assert not (tmp_path / ".tmp-step-000008-abcd").exists()
    assert checkpoint_latest(tmp_path / "missing") is None


def test_prune_keeps_the_newest(tmp_path):
    for step in (1, 2, 3):
        checkpoint_write_atomic(tmp_path / f"step-{step:06d}", write_state(step))
    checkpoint_prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-000002", "step-000003"]
