"""The scikit-learn baseline: a linear Bradley-Terry model on signal features.

r(prompt, response) = w . standardize(signal_features(prompt, response)). It is fit as an
L2 logistic regression without intercept on feature differences f(chosen) - f(rejected)
(half of the pairs flipped, label 0), so sigmoid(r_c - r_r) is its preference probability.
Length-controlled (the default), a length feature's fitted weight stays in the score only when
it is negative: the score may charge for saying more, never pay for it (``withheld_weights``).
The artifact is plain JSON (weights, standardization): no pickle is ever loaded.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from rewards.core.config import BaselineConfig
from rewards.core.pairs import PreferencePair
from rewards.core.signals import FEATURE_NAMES, LENGTH_FEATURES, signal_matrix

KIND = "baseline"
LENGTH_MASK = np.array([name in LENGTH_FEATURES for name in FEATURE_NAMES])
"""Shape (F,): True at the length features."""
WEIGHTS_FILE = "baseline.json"


@dataclass
class BaselineRewardModel:
    weights: np.ndarray
    """Shape (F,), over standardized features: the ones the score uses."""
    mean: np.ndarray
    """Shape (F,)."""
    scale: np.ndarray
    """Shape (F,), never 0."""
    withheld_weights: np.ndarray | None = None
    """Shape (F,): fitted weights the score leaves out (positive length weights; zero elsewhere),
    kept to show what length alone would have earned. None when not length-controlled."""
    version: str = ""
    kind: str = KIND

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        if len(prompts) != len(responses):
            raise ValueError("prompts and responses must have the same length")
        features = signal_matrix(list(prompts), list(responses))
        return [float(x) for x in ((features - self.mean) / self.scale) @ self.weights]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / WEIGHTS_FILE).write_text(json.dumps({
            "features": list(FEATURE_NAMES), "weights": self.weights.tolist(),
            "mean": self.mean.tolist(), "scale": self.scale.tolist(),
            "withheld_weights": None if self.withheld_weights is None else self.withheld_weights.tolist(),
        }, indent=2))

    @classmethod
    def load(cls, directory: Path, *, version: str) -> "BaselineRewardModel":
        data = json.loads((directory / WEIGHTS_FILE).read_text())
        if tuple(data["features"]) != FEATURE_NAMES:
            raise ValueError(f"{directory} was trained on other features: {data['features']}")
        withheld = data.get("withheld_weights")  # absent from artifacts saved before length control
        return cls(np.array(data["weights"]), np.array(data["mean"]), np.array(data["scale"]),
                   None if withheld is None else np.array(withheld), version=version)


@dataclass(frozen=True)
class BaselineFit:
    model: BaselineRewardModel
    train_seconds: float


def baseline_fit(pairs: Sequence[PreferencePair], config: BaselineConfig) -> BaselineFit:
    """Fit on ``pairs`` (their split is not looked at: pass the training ones).

    Raises ValueError when there are no pairs.
    """
    if not pairs:
        raise ValueError("no training pairs: mine preferences first")
    started = time.perf_counter()
    chosen = signal_matrix([p.prompt for p in pairs], [p.chosen for p in pairs])
    rejected = signal_matrix([p.prompt for p in pairs], [p.rejected for p in pairs])
    both = np.vstack([chosen, rejected])
    mean, scale = both.mean(axis=0), both.std(axis=0)
    scale[scale == 0] = 1.0
    differences = ((chosen - mean) / scale) - ((rejected - mean) / scale)
    flip = np.random.default_rng(config.seed).random(len(pairs)) < 0.5
    differences[flip] *= -1
    labels = (~flip).astype(int)
    if labels.min() == labels.max():  # one class only (a single pair): add its mirror image
        differences, labels = np.vstack([differences, -differences]), np.concatenate([labels, 1 - labels])
    regression = LogisticRegression(C=config.c, fit_intercept=False, random_state=config.seed, max_iter=1000)
    regression.fit(differences, labels)
    fitted = regression.coef_[0].copy()
    if config.length_controlled:
        paid_for_length = LENGTH_MASK & (fitted > 0)
        model = BaselineRewardModel(np.where(paid_for_length, 0.0, fitted), mean, scale,
                                    withheld_weights=np.where(paid_for_length, fitted, 0.0))
    else:
        model = BaselineRewardModel(fitted, mean, scale)
    return BaselineFit(model=model, train_seconds=time.perf_counter() - started)
