"""GRPO/DAPO maths against values computed by hand."""
from __future__ import annotations

import math

import pytest
import torch

from training.rl import algorithms


def test_group_advantages_centre_and_scale_within_each_group():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0]])
    # group 1: mean 0.5, population std 0.5 -> +-1; group 2: no variance -> 0
    expected = torch.tensor([[1.0, -1.0, -1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    assert torch.allclose(algorithms.group_advantages(rewards), expected, atol=1e-5)


def test_group_advantages_without_std_only_centre():
    rewards = torch.tensor([[3.0, 1.0]])
    assert algorithms.group_advantages(rewards, std_normalize=False).tolist() == [[1.0, -1.0]]


def test_groups_with_signal_drops_constant_groups():
    rewards = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 0.0], [0.2, 0.2, 0.2000001]])
    assert algorithms.groups_with_signal(rewards).tolist() == [False, True, True]


def test_overlong_penalty_ramps_over_the_buffer():
    lengths = torch.tensor([10, 12, 14, 15, 16, 20])
    # max 16, buffer 4: zero up to 12, then (12 - L) / 4, floor -1
    penalty = algorithms.overlong_penalty(lengths, max_length=16, buffer=4, factor=1.0)
    assert penalty.tolist() == pytest.approx([0.0, 0.0, -0.5, -0.75, -1.0, -1.0])


def test_overlong_penalty_factor_scales_and_zero_buffer_hits_only_the_limit():
    assert algorithms.overlong_penalty(torch.tensor([14]), max_length=16, buffer=4, factor=2.0).tolist() == [-1.0]
    assert algorithms.overlong_penalty(torch.tensor([15, 16]), max_length=16, buffer=0, factor=0.5).tolist() == [0.0, -0.5]


def test_clip_higher_for_positive_advantage():
    ratio = torch.tensor([[1.5, 0.5, 1.1]])
    loss, clipped = algorithms.clipped_token_objective(ratio, torch.tensor([2.0]), clip_low=0.2, clip_high=0.28)
    # unclipped 3.0, 1.0, 2.2; clipped ratio 1.28, 0.8, 1.1 -> 2.56, 1.6, 2.2; min -> 2.56, 1.0, 2.2
    assert loss[0].tolist() == pytest.approx([-2.56, -1.0, -2.2])
    assert clipped.tolist() == [[True, False, False]]


def test_clip_low_for_negative_advantage():
    ratio = torch.tensor([[1.5, 0.5]])
    loss, clipped = algorithms.clipped_token_objective(ratio, torch.tensor([-1.0]), clip_low=0.2, clip_high=0.28)
    # unclipped -1.5, -0.5; clipped -1.28, -0.8; min -> -1.5, -0.8
    assert loss[0].tolist() == pytest.approx([1.5, 0.8])
    assert clipped.tolist() == [[False, True]]


def test_token_mean_and_sequence_mean_weigh_responses_differently():
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 0, 0]])
    assert algorithms.aggregate(values, mask, how="token_mean").item() == pytest.approx(10 / 4)
    assert algorithms.aggregate(values, mask, how="sequence_mean").item() == pytest.approx((2 + 4) / 2)
    with pytest.raises(ValueError):
        algorithms.aggregate(values, mask, how="sum")


def test_policy_loss_at_ratio_one_is_minus_mean_advantage_and_its_gradient():
    log_probs = torch.log(torch.tensor([[0.5, 0.25], [0.5, 0.9]])).requires_grad_(True)
    old = log_probs.detach().clone()
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    advantages = torch.tensor([1.0, -1.0])
    loss, stats = algorithms.policy_loss(log_probs, old, advantages, mask, clip_low=0.2, clip_high=0.28, aggregation="token_mean")
    assert loss.item() == pytest.approx((-1 - 1 + 1) / 3)
    assert stats["clip/fraction"].item() == 0.0
    loss.backward()
    # d/dlogp of -ratio*A / N at ratio 1 is -A/N on real tokens, 0 on padding
    assert log_probs.grad.flatten().tolist() == pytest.approx([-1 / 3, -1 / 3, 1 / 3, 0.0])
    seq_loss, _ = algorithms.policy_loss(log_probs, old, advantages, mask, clip_low=0.2, clip_high=0.28, aggregation="sequence_mean")
    assert seq_loss.item() == pytest.approx(0.0)


def test_clip_fraction_counts_clipped_tokens():
    old = torch.zeros((1, 4))
    log_probs = torch.log(torch.tensor([[2.0, 1.0, 1.0, 1.0]]))  # ratio 2 on the first token
    _, stats = algorithms.policy_loss(log_probs, old, torch.tensor([1.0]), torch.ones((1, 4)),
                                      clip_low=0.2, clip_high=0.28, aggregation="token_mean")
    assert stats["clip/fraction"].item() == pytest.approx(0.25)


def test_kl_k3_by_hand_and_added_only_with_a_coefficient():
    log_probs = torch.log(torch.tensor([[0.5, 0.5]]))
    ref = torch.log(torch.tensor([[0.25, 0.5]]))
    # delta = ln 0.5: exp(delta) - delta - 1 = 0.5 + ln 2 - 1
    assert algorithms.kl_k3(log_probs, ref)[0].tolist() == pytest.approx([0.5 + math.log(2) - 1, 0.0], abs=1e-6)
    mask = torch.ones((1, 2))
    base, stats = algorithms.policy_loss(log_probs, log_probs, torch.tensor([0.0]), mask, clip_low=0.2, clip_high=0.28,
                                         aggregation="token_mean", ref_log_probs=ref, kl_coef=0.1)
    assert stats["kl"].item() == pytest.approx((0.5 + math.log(2) - 1) / 2)
    assert base.item() == pytest.approx(0.1 * (0.5 + math.log(2) - 1) / 2)


def test_token_log_probs_and_entropy():
    logits = torch.tensor([[[0.0, math.log(3.0)]]])
    assert algorithms.token_log_probs(logits, torch.tensor([[1]])).item() == pytest.approx(math.log(0.75))
    p = torch.tensor([0.25, 0.75])
    assert algorithms.token_entropy(logits).item() == pytest.approx(float(-(p * p.log()).sum()))
