"""The dashboard's metrics: which rollup counters each needs and which statistics apply.

Pure (no Django): a metric turns summed rollup counters (``{"tool_calls": 120, ...}``)
into an ``Estimate``, and two such sums into a ``Difference``. Definitions follow
docs/metrics.md and ``telemetry.selectors.counters_to_metrics`` exactly (tests check that the
point values agree).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dashboard.stats import (
    Difference,
    Estimate,
    mean_estimate,
    proportion_difference,
    ratio_of_sums_estimate,
    welch_difference,
    wilson_interval,
)

RETENTION_LABELS: tuple[str, ...] = ("30s", "2m", "5m", "10m", "1h")
RETENTION_TITLES = {"30s": "30 s", "2m": "2 min", "5m": "5 min", "10m": "10 min", "1h": "1 h"}
DEFAULT_RETENTION = "5m"
Totals = Mapping[str, int]


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str
    """"proportion" (Wilson), "ratio" (delta method), "mean" (t) or "point" (no interval)."""
    better: str
    """"higher" or "lower": which direction is an improvement."""
    unit: str
    """"share" (0..1, shown as %) or "tokens"."""
    counters: tuple[str, ...]
    description: str
    _successes: Callable[[Totals], int] | None = field(default=None, repr=False)
    _trials: Callable[[Totals], int] | None = field(default=None, repr=False)

    def estimate(self, t: Totals) -> Estimate:
        """The metric over summed counters ``t``, its interval clipped to the possible range."""
        estimate = self._estimate(_getter(t))
        if estimate.low is None:
            return estimate
        low = estimate.low if estimate.low > 0.0 else 0.0
        high = estimate.high if self.unit != "share" or estimate.high < 1.0 else 1.0
        if low == estimate.low and high == estimate.high:
            return estimate
        return Estimate(value=estimate.value, low=low, high=high, se=estimate.se, n=estimate.n)

    def _estimate(self, g: Totals) -> Estimate:
        if self.kind == "proportion":
            return wilson_interval(self._successes(g), self._trials(g))
        if self.kind == "ratio":
            label = self.key.removeprefix("code_retention_")
            p = f"retention_{label}_"
            return ratio_of_sums_estimate(
                numerator=g[p + "retained"], denominator=g[p + "total"], numerator_sq=g[p + "retained_sq"],
                denominator_sq=g[p + "total_sq"], cross=g[p + "cross"], units=g[p + "checks"],
            )
        if self.kind == "mean":
            return mean_estimate(total=g["finished_task_tokens"], total_sq=g["finished_task_tokens_sq"], n=g["tasks_finished"])
        if self.key == "tokens_per_accepted_line":
            tokens = g["input_tokens"] + g["output_tokens"] + g["cache_tokens"]
            return Estimate(value=tokens / g["accepted_lines"] if g["accepted_lines"] else None, n=g["accepted_lines"])
        raise ValueError(f"unknown metric kind {self.kind!r}")

    def difference(self, a: Totals, b: Totals) -> Difference:
        """b against a (baseline)."""
        if self.kind == "proportion":
            ga, gb = _getter(a), _getter(b)
            return proportion_difference(
                successes_a=self._successes(ga), trials_a=self._trials(ga),
                successes_b=self._successes(gb), trials_b=self._trials(gb),
            )
        return welch_difference(self.estimate(a), self.estimate(b))

    def describe(self) -> dict:
        return {"key": self.key, "label": self.label, "kind": self.kind, "better": self.better, "unit": self.unit, "description": self.description}


class _getter(dict):
    """Counter lookup where a missing or NULL sum is 0."""

    def __init__(self, totals: Totals) -> None:
        super().__init__(totals)

    def __missing__(self, key: str) -> int:
        return 0

    def __getitem__(self, key: str) -> int:
        return super().__getitem__(key) or 0


def _retention(label: str) -> Metric:
    p = f"retention_{label}_"
    return Metric(
        key=f"code_retention_{label}", label=f"Code retention @ {RETENTION_TITLES[label]}", kind="ratio", better="higher",
        unit="share", counters=tuple(p + s for s in ("retained", "total", "retained_sq", "total_sq", "cross", "checks")),
        description=f"Share of accepted characters still present {RETENTION_TITLES[label]} after acceptance (ratio of sums; delta-method CI).",
    )


def _unchanged(label: str, mostly: bool) -> Metric:
    p = f"retention_{label}_"
    counter = p + ("mostly_unchanged" if mostly else "unchanged")
    name = "mostly unchanged" if mostly else "unchanged"
    return Metric(
        key=f"code_{'mostly_' if mostly else ''}unchanged_{label}", label=f"{name.capitalize()} @ {RETENTION_TITLES[label]}",
        kind="proportion", better="higher", unit="share", counters=(counter, p + "checks"),
        description=(
            f"Share of measured insertions {name} {RETENTION_TITLES[label]} after acceptance"
            + (" (edit distance below 33% of the original)." if mostly else " (identical).")
        ),
        _successes=lambda g, c=counter: g[c], _trials=lambda g, c=p + "checks": g[c],
    )


TOOL_CALL_ERROR_RATE = Metric(
    key="tool_call_error_rate", label="Tool-call error rate", kind="proportion", better="lower", unit="share",
    counters=("tool_errors", "tool_calls"), description="Failed tool calls / all tool calls (Wilson CI).",
    _successes=lambda g: g["tool_errors"], _trials=lambda g: g["tool_calls"],
)
TOOL_CALL_SUCCESS_RATE = Metric(
    key="tool_call_success_rate", label="Tool-call accuracy", kind="proportion", better="higher", unit="share",
    counters=("tool_errors", "tool_calls"),
    description="Tool calls that succeeded / all tool calls; with tool = shell it is terminal-command accuracy.",
    _successes=lambda g: g["tool_calls"] - g["tool_errors"], _trials=lambda g: g["tool_calls"],
)
TOKENS_PER_TASK = Metric(
    key="tokens_per_task", label="Tokens per task", kind="mean", better="lower", unit="tokens",
    counters=("finished_task_tokens", "finished_task_tokens_sq", "tasks_finished"),
    description="Input + output + cache tokens of finished tasks / finished tasks (t CI).",
)
ACCEPTANCE_RATE = Metric(
    key="acceptance_rate", label="Acceptance rate", kind="proportion", better="higher", unit="share",
    counters=("suggestions_accepted", "suggestions_rejected"),
    description="Accepted / (accepted + rejected) suggestions (Wilson CI).",
    _successes=lambda g: g["suggestions_accepted"], _trials=lambda g: g["suggestions_accepted"] + g["suggestions_rejected"],
)
TASK_SUCCESS_RATE = Metric(
    key="task_success_rate", label="Task success rate", kind="proportion", better="higher", unit="share",
    counters=("tasks_succeeded", "tasks_finished"), description="Tasks finished with outcome success / finished tasks.",
    _successes=lambda g: g["tasks_succeeded"], _trials=lambda g: g["tasks_finished"],
)
FEEDBACK_POSITIVE_RATE = Metric(
    key="feedback_positive_rate", label="Positive feedback", kind="proportion", better="higher", unit="share",
    counters=("feedback_up", "feedback_down"), description="Thumbs up / all explicit feedback.",
    _successes=lambda g: g["feedback_up"], _trials=lambda g: g["feedback_up"] + g["feedback_down"],
)
TOKENS_PER_ACCEPTED_LINE = Metric(
    key="tokens_per_accepted_line", label="Tokens per accepted line", kind="point", better="lower", unit="tokens",
    counters=("input_tokens", "output_tokens", "cache_tokens", "accepted_lines"),
    description="All tokens / accepted lines (no interval: tokens and lines are not paired per unit).",
)

RETENTION_METRICS: dict[str, Metric] = {label: _retention(label) for label in RETENTION_LABELS}
METRICS: dict[str, Metric] = {
    **{m.key: m for m in RETENTION_METRICS.values()},
    **{m.key: m for label in RETENTION_LABELS for m in (_unchanged(label, False), _unchanged(label, True))},
    **{m.key: m for m in (
        TOOL_CALL_ERROR_RATE, TOOL_CALL_SUCCESS_RATE, TOKENS_PER_TASK, ACCEPTANCE_RATE, TASK_SUCCESS_RATE,
        FEEDBACK_POSITIVE_RATE, TOKENS_PER_ACCEPTED_LINE,
    )},
}


def headline_metrics(retention: str = DEFAULT_RETENTION) -> list[Metric]:
    """The four numbers the overview leads with, retention at checkpoint ``retention``."""
    return [RETENTION_METRICS[retention], TOOL_CALL_ERROR_RATE, TOKENS_PER_TASK, ACCEPTANCE_RATE]


def all_metrics(retention: str = DEFAULT_RETENTION) -> list[Metric]:
    """Every metric compare shows: the headline ones first, then the secondary ones."""
    head = headline_metrics(retention)
    rest = [
        *(RETENTION_METRICS[label] for label in RETENTION_LABELS if label != retention),
        METRICS[f"code_unchanged_{retention}"], METRICS[f"code_mostly_unchanged_{retention}"],
        TASK_SUCCESS_RATE, FEEDBACK_POSITIVE_RATE, TOKENS_PER_ACCEPTED_LINE,
    ]
    return [*head, *rest]


def counters_for(metrics: list[Metric]) -> list[str]:
    """The rollup counters ``metrics`` need, each once, in a stable order."""
    return list(dict.fromkeys(c for m in metrics for c in m.counters))


def retention_label_check(label: str | None) -> str:
    """``label`` if it is a retention checkpoint label, else the default (5m)."""
    return label if label in RETENTION_LABELS else DEFAULT_RETENTION
