"""The product score of a completion: a weighted sum of named components, all kept."""
from __future__ import annotations

from dataclasses import dataclass

from rewards.core.config import RETENTION_LABELS, ProductScoreWeights
from rewards.core.facts import CompletionFacts

OUTCOME_VALUES: dict[str, float] = {"success": 1.0, "failure": -1.0, "abandoned": -0.5}
COMPONENTS: tuple[str, ...] = (
    *(f"retention_{label}" for label in RETENTION_LABELS),
    "accepted",
    "tool_errors",
    "tokens",
    "task_outcome",
    "feedback",
)


@dataclass(frozen=True)
class ProductScore:
    """``total`` = sum(weight[name] * value) over components whose value is not None."""

    total: float
    components: dict[str, float | None]
    """Unweighted value of every component in ``COMPONENTS`` (None: not observed)."""
    weighted: dict[str, float]
    """Weighted contribution of every observed component."""


def tool_error_value(*, calls: int, errors: int) -> float | None:
    """Minus the failed share of the completion's tool calls, in [-1, 0]; None without calls."""
    return None if calls == 0 else -errors / calls


def token_value(tokens: int | None, *, scale: float) -> float | None:
    """Minus tokens / scale, floored at -1."""
    return None if tokens is None else -min(1.0, tokens / scale)


def product_score(facts: CompletionFacts, weights: ProductScoreWeights) -> ProductScore:
    values: dict[str, float | None] = {f"retention_{label}": facts.retention.get(label) for label in RETENTION_LABELS}
    values["accepted"] = None if facts.accepted is None else (1.0 if facts.accepted else -1.0)
    values["tool_errors"] = tool_error_value(calls=facts.tool_calls, errors=facts.tool_errors)
    values["tokens"] = token_value(facts.tokens, scale=weights.token_scale)
    values["task_outcome"] = None if facts.task_outcome is None else OUTCOME_VALUES.get(facts.task_outcome, 0.0)
    values["feedback"] = facts.feedback
    weight_of = {
        **{f"retention_{label}": weights.retention_weight(label) for label in RETENTION_LABELS},
        "accepted": weights.accepted,
        "tool_errors": weights.tool_errors,
        "tokens": weights.tokens,
        "task_outcome": weights.task_outcome,
        "feedback": weights.feedback,
    }
    weighted = {name: weight_of[name] * value for name, value in values.items() if value is not None}
    return ProductScore(total=sum(weighted.values()), components=values, weighted=weighted)
