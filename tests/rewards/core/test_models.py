"""Reward models: the margin loss, evaluation, the baseline and the Bradley-Terry trainer."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from rewards.core.artifacts import artifact_load, artifact_save
from rewards.core.baseline import baseline_fit
from rewards.core.bradley_terry import bradley_terry_fit, bradley_terry_loss, held_out_metrics
from rewards.core.config import BaselineConfig, BradleyTerryConfig
from rewards.core.evaluation import calibration, pairwise_accuracy
from rewards.core.pairs import PreferencePair
from rewards.core.signals import FEATURE_NAMES
from tests.rewards.factories import reference_pairs

TINY = BradleyTerryConfig(epochs=3, batch_size=16, hidden_size=32, num_hidden_layers=1, max_length=128, learning_rate=2e-3)


@pytest.fixture(scope="module")
def pairs():
    everything = reference_pairs(limit=300)
    return [p for p in everything if p.split == "train"], [p for p in everything if p.split == "validation"]


def test_loss_is_minus_log_sigmoid_of_the_gap_minus_margin():
    chosen, rejected, margin = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.0])
    expected = -(math.log(1 / (1 + math.exp(-0.5))) + math.log(0.5)) / 2
    assert bradley_terry_loss(chosen, rejected, margin).item() == pytest.approx(expected)
    # a margin asks for a larger gap: the same gap costs more
    assert bradley_terry_loss(chosen, rejected, torch.tensor([1.0, 1.0])) > bradley_terry_loss(chosen, rejected, torch.zeros(2))


def test_accuracy_counts_ties_as_half_and_calibration_bins_confidence():
    assert pairwise_accuracy([1, 0, 2], [0, 0, 3]) == pytest.approx(0.5)
    assert pairwise_accuracy([], []) is None
    report = calibration([3.0, 3.0, 0.1], [0.0, 0.0, 0.0])
    top = report["bins"][-1]
    assert top["count"] == 2 and top["accuracy"] == 1.0 and top["confidence"] == pytest.approx(1 / (1 + math.exp(-3)))
    assert report["bins"][0]["count"] == 1 and 0 < report["ece"] < 0.5


def test_baseline_learns_the_signals_and_round_trips(pairs, tmp_path):
    train, validation = pairs
    fit = baseline_fit(train, BaselineConfig())
    metrics = held_out_metrics(fit.model, validation)
    assert metrics["pairwise_accuracy"] > 0.9
    weights = dict(zip(FEATURE_NAMES, fit.model.weights))
    assert weights["verbosity"] < 0  # the verbose flavor loses: a charge for length is kept
    artifact_save(fit.model, tmp_path / "m", version="rm-x")
    loaded = artifact_load(tmp_path / "m")
    assert loaded.version == "rm-x" and loaded.kind == "baseline"
    assert loaded.score([validation[0].prompt], [validation[0].chosen]) == fit.model.score([validation[0].prompt], [validation[0].chosen])


def _explained(command: str) -> str:
    return f"This is a cmd shell, so I will use the command that cmd provides for this.\n$ {command}\nThe command runs here."


@pytest.fixture(scope="module")
def verbose_when_right_pairs():
    """Pairs where the right command mostly comes explained and the wrong one terse: length
    predicts the preference without causing it (as prose-primed shells did in v0's telemetry)."""
    prompt = "Windows, cmd.exe. List the files in the `src` directory."
    made = []
    for index in range(60):
        wordy_winner = index % 4 != 0  # 3 of 4 pairs: the explained answer wins
        chosen = _explained("dir src") if wordy_winner else "$ dir src"
        rejected = "$ ls -la src" if wordy_winner else _explained("ls -la src")
        made.append(PreferencePair(f"fp{index}", prompt, chosen, rejected, 1.0, "train", (), ()))
    return prompt, made


def test_a_length_controlled_baseline_never_pays_for_saying_more(verbose_when_right_pairs, tmp_path):
    prompt, train = verbose_when_right_pairs
    free = baseline_fit(train, BaselineConfig(length_controlled=False)).model
    controlled = baseline_fit(train, BaselineConfig()).model
    terse, wordy, wrong = "$ dir src", _explained("dir src"), "$ ls -la src"
    [free_terse, free_wordy] = free.score([prompt] * 2, [terse, wordy])
    assert free_wordy > free_terse  # what RL learned to exploit
    [terse_score, wordy_score, wrong_score] = controlled.score([prompt] * 3, [terse, wordy, wrong])
    assert wordy_score == terse_score > wrong_score
    withheld = dict(zip(FEATURE_NAMES, controlled.withheld_weights))
    assert withheld["verbosity"] > 0 and withheld["commands_valid"] == 0  # fit, then kept apart
    artifact_save(controlled, tmp_path / "m", version="rm-lc")
    assert artifact_load(tmp_path / "m").score([prompt] * 2, [terse, wordy]) == [terse_score, wordy_score]


def test_bradley_terry_learns_from_text_and_round_trips(pairs, tmp_path):
    train, validation = pairs
    steps = []
    fit = bradley_terry_fit(train, TINY, on_step=lambda step, total, loss: steps.append((step, total)))
    assert steps[-1][0] == steps[-1][1] == len(steps)
    assert fit.losses[-1] < fit.losses[0]
    metrics = held_out_metrics(fit.reward_model, validation)
    assert metrics["pairwise_accuracy"] > 0.8
    artifact_save(fit.reward_model, tmp_path / "bt", version="rm-bt")
    loaded = artifact_load(tmp_path / "bt")
    prompts, responses = [p.prompt for p in validation[:5]], [p.rejected for p in validation[:5]]
    assert loaded.score(prompts, responses) == pytest.approx(fit.reward_model.score(prompts, responses), abs=1e-5)


def test_scores_do_not_depend_on_batch_composition(pairs):
    train, _ = pairs
    fit = bradley_terry_fit(train[:32], BradleyTerryConfig(epochs=1, hidden_size=32, num_hidden_layers=1, max_length=96))
    model = fit.reward_model
    alone = model.score([train[0].prompt], [train[0].chosen])
    batched = model.score([p.prompt for p in train[:8]], [p.chosen for p in train[:8]])
    assert alone[0] == pytest.approx(batched[0], abs=1e-4)


def test_a_length_controlled_bradley_terry_model_does_not_let_prose_rescue_a_wrong_command(verbose_when_right_pairs, tmp_path):
    prompt, train = verbose_when_right_pairs
    config = replace(TINY, epochs=10)
    answers = ["$ dir src", _explained("dir src"), "$ ls -la src", _explained("ls -la src")]
    free = bradley_terry_fit(train, replace(config, length_controlled=False))
    [_, _, free_wrong, free_wrong_wordy] = free.reward_model.score([prompt] * 4, answers)
    assert free_wrong_wordy > free_wrong + 1.0  # the prose is paid for, right or wrong
    controlled = bradley_terry_fit(train, config)
    model = controlled.reward_model
    assert controlled.fitted_length_weight > 0.2 and model.length_weight == 0.0  # fit, then withheld
    assert model.withheld_length_weight == controlled.fitted_length_weight
    [terse, wordy, wrong, wrong_wordy] = model.score([prompt] * 4, answers)
    assert min(terse, wordy) > max(wrong, wrong_wordy) + 0.5
    assert wrong_wordy < wrong + 0.1 and wordy < terse + 0.1
    artifact_save(model, tmp_path / "bt", version="rm-bt-lc")
    loaded = artifact_load(tmp_path / "bt")
    assert loaded.withheld_length_weight == pytest.approx(model.withheld_length_weight)
    assert loaded.score([prompt] * 4, answers) == pytest.approx([terse, wordy, wrong, wrong_wordy], abs=1e-5)


def test_training_without_pairs_says_what_to_do():
    with pytest.raises(ValueError, match="mine preferences first"):
        bradley_terry_fit([], TINY)
    with pytest.raises(ValueError, match="mine preferences first"):
        baseline_fit([], BaselineConfig())


def test_any_local_hugging_face_checkpoint_can_be_the_backbone(pairs, tmp_path):
    """A causal-LM checkpoint (the demo policy's format) gets a scalar head and trains."""
    from tests.training.policy.factories import tiny_bootstrap

    policy = tiny_bootstrap(tmp_path / "policy", steps=5).path
    train, validation = pairs
    fit = bradley_terry_fit(train[:48], BradleyTerryConfig(backbone=str(policy), epochs=1, batch_size=16, max_length=128))
    assert fit.reward_model.model.config.num_labels == 1
    assert len(fit.losses) == 1 and all(math.isfinite(loss) for loss in fit.losses)
    scores = fit.reward_model.score([p.prompt for p in validation[:4]], [p.chosen for p in validation[:4]])
    assert len(scores) == 4 and all(math.isfinite(s) for s in scores)
    with pytest.raises(FileNotFoundError, match="config.json"):
        bradley_terry_fit(train[:4], BradleyTerryConfig(backbone=str(tmp_path / "nothing")))
