"""The maths of GRPO with the DAPO refinements, as small named functions.

Shapes: G groups (prompts), N responses per group, B = G*N responses in a batch, T response
tokens (right-padded, ``mask`` 1 on real tokens), V vocabulary. Pure torch, no state.

References: GRPO (Shao et al., 2024, DeepSeekMath) for group-relative advantages; DAPO
(Yu et al., 2025) for clip-higher, token-level loss, dynamic sampling and the soft
overlong penalty; Schulman's k3 estimator for the optional KL term.
"""
from __future__ import annotations

import torch

EPS = 1e-6


def group_advantages(rewards: torch.Tensor, *, std_normalize: bool = True, eps: float = EPS) -> torch.Tensor:
    """rewards [G, N] -> advantages [G, N]: reward minus its group's mean, over the group's std.

    The std is the population std (divide by N). A group whose rewards are all equal gets
    advantage 0 everywhere (no learning signal). ``std_normalize=False`` only centres (Dr. GRPO).
    """
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if not std_normalize:
        return centred
    std = rewards.std(dim=1, keepdim=True, unbiased=False)
    return centred / (std + eps)


def groups_with_signal(rewards: torch.Tensor) -> torch.Tensor:
    """rewards [G, N] -> keep [G] bool: True where the group's rewards are not all equal.

    DAPO's dynamic sampling drops the others: with zero advantage they add no gradient,
    only dilute the batch.
    """
    return (rewards.max(dim=1).values - rewards.min(dim=1).values) > 0


def overlong_penalty(lengths: torch.Tensor, *, max_length: int, buffer: int, factor: float) -> torch.Tensor:
    """lengths [B] (response tokens) -> penalty [B] (<= 0), DAPO's soft overlong punishment.

    0 up to ``max_length - buffer``; then linear down to ``-factor`` at ``max_length``;
    ``-factor`` beyond it. ``buffer == 0`` punishes only responses at or past the limit
    (generation stops at ``max_length``, so those are the truncated ones).
    """
    lengths = lengths.to(torch.float32)
    if buffer <= 0:
        return torch.where(lengths >= max_length, torch.full_like(lengths, -factor), torch.zeros_like(lengths))
    start = max_length - buffer
    ramp = (start - lengths) / buffer * factor
    penalty = torch.where(lengths <= start, torch.zeros_like(lengths), ramp)
    return torch.clamp(penalty, min=-factor)


def token_log_probs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """logits [B, T, V] (position t predicts tokens[:, t]), tokens [B, T] -> log p(token) [B, T]."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    return log_probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """logits [B, T, V] -> entropy of each next-token distribution [B, T] (nats)."""
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    return -(log_probs.exp() * log_probs).sum(dim=-1)


def importance_ratio(log_probs: torch.Tensor, old_log_probs: torch.Tensor) -> torch.Tensor:
    """log_probs [B, T], old_log_probs [B, T] -> pi/pi_old per token [B, T]."""
    return torch.exp(log_probs - old_log_probs)


def clipped_token_objective(
    ratio: torch.Tensor, advantages: torch.Tensor, *, clip_low: float, clip_high: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """ratio [B, T], advantages [B] -> (per-token loss [B, T], clipped [B, T] bool).

    loss = -min(ratio * A, clip(ratio, 1 - clip_low, 1 + clip_high) * A): the PPO surrogate
    with DAPO's asymmetric ("clip-higher") range, which leaves low-probability tokens room
    to grow. ``clipped`` marks tokens where the clipped term was the smaller (no gradient).
    """
    adv = advantages.unsqueeze(-1)  # [B, 1]
    unclipped = ratio * adv
    clipped_ratio = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    clipped = clipped_ratio * adv
    loss = -torch.minimum(unclipped, clipped)
    return loss, clipped < unclipped


def aggregate(values: torch.Tensor, mask: torch.Tensor, *, how: str) -> torch.Tensor:
    """values [B, T], mask [B, T] -> scalar.

    "token_mean": sum over all real tokens / number of real tokens (DAPO: long responses
    weigh by their length). "sequence_mean": mean over each response's tokens, then over
    responses (GRPO: every response weighs the same). Responses with no tokens are skipped.
    """
    mask = mask.to(values.dtype)
    if how == "token_mean":
        return (values * mask).sum() / mask.sum().clamp(min=1.0)
    if how == "sequence_mean":
        lengths = mask.sum(dim=1)
        present = lengths > 0
        per_response = (values * mask).sum(dim=1)[present] / lengths[present]
        return per_response.mean() if per_response.numel() else values.sum() * 0.0
    raise ValueError(f"unknown loss aggregation {how!r}")


def kl_k3(log_probs: torch.Tensor, ref_log_probs: torch.Tensor) -> torch.Tensor:
    """log_probs [B, T], ref_log_probs [B, T] -> k3 estimate of KL(pi || pi_ref) per token [B, T].

    k3 = exp(ref - logp) - (ref - logp) - 1: unbiased, always >= 0, 0 where they agree.
    """
    delta = ref_log_probs - log_probs
    return torch.exp(delta) - delta - 1.0


def policy_loss(
    log_probs: torch.Tensor,
    old_log_probs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_low: float,
    clip_high: float,
    aggregation: str,
    ref_log_probs: torch.Tensor | None = None,
    kl_coef: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The full GRPO/DAPO loss -> (scalar loss, {"loss/policy", "clip/fraction", "kl"} detached).

    log_probs, old_log_probs, ref_log_probs, mask [B, T]; advantages [B].
    """
    ratio = importance_ratio(log_probs, old_log_probs)
    token_loss, clipped = clipped_token_objective(ratio, advantages, clip_low=clip_low, clip_high=clip_high)
    loss = aggregate(token_loss, mask, how=aggregation)
    stats = {
        "loss/policy": loss.detach(),
        "clip/fraction": aggregate(clipped.float(), mask, how="token_mean").detach(),
    }
    if ref_log_probs is not None and kl_coef > 0:
        kl = aggregate(kl_k3(log_probs, ref_log_probs), mask, how=aggregation)
        loss = loss + kl_coef * kl
        stats["kl"] = kl.detach()
    return loss, stats
