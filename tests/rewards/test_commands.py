"""``train_reward_model`` and ``promote_reward_model``, as an operator runs them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rewards.core.bradley_terry import SETTINGS_FILE
from rewards.models import RewardModelVersion
from rewards.selectors import reward_model_active

pytestmark = pytest.mark.django_db


def train(capsys, *args: str) -> dict:
    call_command("train_reward_model", *args, "--json", "--no-progress")
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_train_registers_a_version_with_its_lineage_and_held_out_quality(reference_dataset, capsys):
    baseline = train(capsys, "--dataset", reference_dataset.version, "--kind", "baseline", "--promote")
    assert baseline["active"] and baseline["pairwise_accuracy"] > 0.9 and baseline["validation_pairs"] > 0
    bt = train(capsys, "--org", "acme", "--kind", "bradley_terry", "--epochs", "1", "--max-length", "96")
    record = RewardModelVersion.objects.get(version=bt["version"])
    assert record.dataset == reference_dataset and record.parent.version == baseline["version"]
    assert not record.is_active and Path(record.artifact_path, "manifest.json").is_file()
    assert len(record.calibration["bins"]) == 5 and record.metrics["loss/train"]
    call_command("promote_reward_model", bt["version"])
    assert "is active" in capsys.readouterr().out
    assert reward_model_active().version == bt["version"]
    assert list(RewardModelVersion.objects.filter(is_active=True).values_list("version", flat=True)) == [bt["version"]]


def test_train_shows_progress(reference_dataset, capsys):
    call_command("train_reward_model", "--dataset", reference_dataset.version, "--epochs", "1", "--max-length", "64")
    captured = capsys.readouterr()
    assert "reward model steps" in captured.err and "held-out pairwise accuracy" in captured.out


def test_errors_say_what_to_do(db):
    with pytest.raises(CommandError, match="run `manage.py mine_preferences --org ghost` first"):
        call_command("train_reward_model", "--org", "ghost")
    with pytest.raises(CommandError, match="run `manage.py mine_preferences` first"):
        call_command("train_reward_model", "--dataset", "nope")
    with pytest.raises(CommandError, match="no reward-model version 'rm-9999'"):
        call_command("promote_reward_model", "rm-9999")


def test_the_baseline_is_length_controlled_unless_told_otherwise(reference_dataset, capsys):
    def withheld(*args: str):
        artifact = Path(train(capsys, "--dataset", reference_dataset.version, "--kind", "baseline", *args)["artifact"])
        return json.loads((artifact / "baseline.json").read_text())["withheld_weights"]

    assert withheld() is not None
    assert withheld("--no-length-control") is None


def test_the_bradley_terry_model_is_length_controlled_unless_told_otherwise(reference_dataset, capsys):
    def length_weights(*args: str) -> tuple[float, float]:
        summary = train(capsys, "--dataset", reference_dataset.version, "--kind", "bradley_terry", "--epochs", "1",
                        "--max-length", "64", *args)
        settings = json.loads((Path(summary["artifact"]) / SETTINGS_FILE).read_text())
        return settings["length_weight"], settings["withheld_length_weight"]

    scored, withheld = length_weights()
    assert scored <= 0.0 <= withheld and (scored, withheld) != (0.0, 0.0)  # fitted, then charged or withheld
    assert length_weights("--no-length-control") == (0.0, 0.0)
