"""Held-out quality of a reward model: pairwise accuracy and calibration (pure numpy)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CALIBRATION_BINS = 5


def preference_probability(chosen: np.ndarray, rejected: np.ndarray) -> np.ndarray:
    """Bradley-Terry P(chosen preferred) = sigmoid(r_chosen - r_rejected). Shapes: (N,), (N,) -> (N,)."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(chosen, dtype=np.float64) - np.asarray(rejected, dtype=np.float64))))


def pairwise_accuracy(chosen: Sequence[float], rejected: Sequence[float]) -> float | None:
    """Share of pairs where the chosen response scores higher; a tie counts half. None without pairs."""
    c, r = np.asarray(chosen, dtype=np.float64), np.asarray(rejected, dtype=np.float64)
    if c.size == 0:
        return None
    return float(((c > r).sum() + 0.5 * (c == r).sum()) / c.size)


def calibration(chosen: Sequence[float], rejected: Sequence[float], *, bins: int = CALIBRATION_BINS) -> dict:
    """Reliability of the model's preference probabilities on held-out pairs.

    For each pair the model prefers one side with confidence max(p, 1 - p), p = sigmoid(r_c - r_r);
    it is right when p > 0.5. Pairs are binned by confidence over [0.5, 1]; a calibrated
    model's accuracy in each bin equals its mean confidence. ``ece`` is the count-weighted
    mean gap (expected calibration error). Returns ``{"bins": [...], "ece": float | None}``.
    """
    p = preference_probability(np.asarray(chosen), np.asarray(rejected))
    confidence = np.maximum(p, 1.0 - p)
    correct = (p > 0.5).astype(np.float64) + 0.5 * (p == 0.5)
    edges = np.linspace(0.5, 1.0, bins + 1)
    rows, gap = [], 0.0
    for k in range(bins):
        upper_inclusive = k == bins - 1
        inside = (confidence >= edges[k]) & ((confidence <= edges[k + 1]) if upper_inclusive else (confidence < edges[k + 1]))
        count = int(inside.sum())
        row = {"lower": float(edges[k]), "upper": float(edges[k + 1]), "count": count, "confidence": None, "accuracy": None}
        if count:
            row["confidence"] = float(confidence[inside].mean())
            row["accuracy"] = float(correct[inside].mean())
            gap += count * abs(row["accuracy"] - row["confidence"])
        rows.append(row)
    return {"bins": rows, "ece": float(gap / p.size) if p.size else None}
