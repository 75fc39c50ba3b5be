"""The canary judge: promote, roll back or keep waiting (pure, no Django).

Anchors: Kayenta's judge compares each metric of the canary with the control over the
same window using a Mann-Whitney U test and classifies it (pass / high / low) against
per-metric direction and effect thresholds; Argo Rollouts' analysis runs end Successful,
Failed or Inconclusive, and an inconclusive run holds the rollout. Here:

- The unit of analysis is the unit of assignment: the user (``SessionMetrics.unit``),
  since assignment is sticky per user and one user's sessions share their OS, habits and
  tasks. Sessions are first summed per user; treating them as independent would overstate
  the evidence whenever a few users weigh heavily in an arm.
- Continuous metrics (code retention at 5 min, tokens per task) use the one-sided
  Mann-Whitney U test on per-user values; rates (tool-call error rate over tool calls, task
  success over finished tasks, Windows terminal accuracy over shell tool calls on Windows)
  use the one-sided z-test of a ratio with its delta-method variance over users
  (``ratio_better_test``).
- Each metric has a direction (``better``) and a tolerance: it is *significantly worse*
  when its Holm-adjusted one-sided p (Holm over all metrics of the judgement) is below
  ``alpha`` AND the canary is worse than the control by more than the tolerance.
- Verdict: fewer than ``min_sessions_per_arm`` sessions in an arm -> wait; any metric
  significantly worse -> roll back; else the primary metric not worse than the control
  (point estimates, within its tolerance) -> promote; else inconclusive -> wait. Waiting
  past the deadline -> roll back.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from training.release.stats import holm_adjust, mann_whitney_shift, ratio_better_test


@dataclass(frozen=True)
class SessionMetrics:
    """One session's telemetry facts, as the judge needs them."""

    session_id: str
    unit: str = ""
    """The unit assignment is sticky for (the user); empty = the session is its own unit."""
    retention_retained: int = 0
    """Characters still present at the 5-minute retention check(s)."""
    retention_total: int = 0
    """Characters accepted, over the same checks."""
    tasks_finished: int = 0
    tasks_succeeded: int = 0
    finished_task_tokens: int = 0
    """Input + output + cache tokens of the finished tasks."""
    tool_calls: int = 0
    tool_errors: int = 0
    windows_shell_calls: int = 0
    windows_shell_errors: int = 0


def per_session_retention(s: SessionMetrics) -> float | None:
    return s.retention_retained / s.retention_total if s.retention_total else None


def per_session_tokens_per_task(s: SessionMetrics) -> float | None:
    return s.finished_task_tokens / s.tasks_finished if s.tasks_finished else None


# (hits, trials) of each rate metric, per session; summed over sessions.
RATE_COUNTS = {
    "tool_call_error_rate": lambda s: (s.tool_errors, s.tool_calls),
    "task_success_rate": lambda s: (s.tasks_succeeded, s.tasks_finished),
    "windows_terminal_accuracy": lambda s: (s.windows_shell_calls - s.windows_shell_errors, s.windows_shell_calls),
}
CONTINUOUS_VALUES = {
    "code_retention_5m": per_session_retention,
    "tokens_per_task": per_session_tokens_per_task,
}


@dataclass(frozen=True)
class JudgeMetric:
    key: str
    """One of ``RATE_COUNTS`` or ``CONTINUOUS_VALUES``."""
    better: str
    """"higher" or "lower"."""
    tolerance: float = 0.0
    """Largest worsening that does not count (absolute for rates and retention, relative for tokens)."""

    @property
    def kind(self) -> str:
        return "rate" if self.key in RATE_COUNTS else "continuous"


DEFAULT_METRICS: tuple[JudgeMetric, ...] = (
    JudgeMetric("code_retention_5m", "higher"),
    JudgeMetric("tool_call_error_rate", "lower"),
    JudgeMetric("tokens_per_task", "lower"),
    JudgeMetric("task_success_rate", "higher"),
    JudgeMetric("windows_terminal_accuracy", "higher"),
)


@dataclass(frozen=True)
class JudgeConfig:
    """How a canary is judged."""

    metrics: tuple[JudgeMetric, ...] = DEFAULT_METRICS
    primary: str = "task_success_rate"
    """Metric that must not be worse for a promotion."""
    alpha: float = 0.05
    """Family-wise significance level (Holm over the metrics)."""
    min_sessions_per_arm: int = 50
    """No verdict but "wait" before both arms have this many sessions."""

    def __post_init__(self) -> None:
        keys = [m.key for m in self.metrics]
        unknown = [k for k in keys if k not in RATE_COUNTS and k not in CONTINUOUS_VALUES]
        if unknown:
            raise ValueError(f"unknown judge metrics {unknown}")
        if self.primary not in keys:
            raise ValueError(f"primary metric {self.primary!r} is not among the metrics")
        if self.min_sessions_per_arm < 1 or not 0 < self.alpha < 1:
            raise ValueError("min_sessions_per_arm must be >= 1 and alpha in (0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MetricComparison:
    key: str
    better: str
    test: str
    control: float | None
    canary: float | None
    n_control: int
    """Users (units of assignment) the value is over: those with a value, or with trials for a rate."""
    n_canary: int
    worse_by: float | None
    tolerance: float
    p_worse: float | None
    p_better: float | None
    adjusted_p_worse: float | None = None
    adjusted_p_better: float | None = None
    significantly_worse: bool = False
    significantly_better: bool = False


@dataclass(frozen=True)
class Judgement:
    verdict: str
    """"promote", "rollback" or "wait"."""
    reason: str
    sessions_control: int
    sessions_canary: int
    metrics: tuple[MetricComparison, ...] = field(default_factory=tuple)

    def metrics_json(self) -> list[dict[str, Any]]:
        return [asdict(m) for m in self.metrics]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


_COUNT_FIELDS = tuple(f.name for f in fields(SessionMetrics) if f.name not in ("session_id", "unit"))


def units_aggregate(sessions: Sequence[SessionMetrics]) -> list[SessionMetrics]:
    """Sessions summed per unit of assignment (``unit``, else the session itself), in unit order."""
    summed: dict[str, dict[str, int]] = {}
    for session in sessions:
        unit = session.unit or session.session_id
        totals = summed.setdefault(unit, dict.fromkeys(_COUNT_FIELDS, 0))
        for name in _COUNT_FIELDS:
            totals[name] += getattr(session, name)
    return [SessionMetrics(session_id=unit, unit=unit, **totals) for unit, totals in sorted(summed.items())]


def metric_compare(metric: JudgeMetric, control: Sequence[SessionMetrics], canary: Sequence[SessionMetrics]) -> MetricComparison:
    """One metric, canary against control, before the multiple-comparison correction.

    ``control`` and ``canary`` are per-user records (``units_aggregate``).
    """
    higher = metric.better == "higher"
    if metric.kind == "rate":
        count = RATE_COUNTS[metric.key]
        c_units = [hits_trials for hits_trials in map(count, control) if hits_trials[1] > 0]
        k_units = [hits_trials for hits_trials in map(count, canary) if hits_trials[1] > 0]
        c_trials, k_trials = sum(t for _, t in c_units), sum(t for _, t in k_units)
        c_value = sum(h for h, _ in c_units) / c_trials if c_trials else None
        k_value = sum(h for h, _ in k_units) / k_trials if k_trials else None
        # "canary better" means a higher share when higher is better, a lower one otherwise.
        p_better = ratio_better_test(c_units, k_units) if higher else ratio_better_test(k_units, c_units)
        p_worse = ratio_better_test(k_units, c_units) if higher else ratio_better_test(c_units, k_units)
        n_c, n_k, test = len(c_units), len(k_units), "one-sided delta-method z-test of the ratio over users"
        worse_by = None if c_value is None or k_value is None else ((c_value - k_value) if higher else (k_value - c_value))
    else:
        value = CONTINUOUS_VALUES[metric.key]
        c_values = [v for v in map(value, control) if v is not None]
        k_values = [v for v in map(value, canary) if v is not None]
        c_value, k_value = _mean(c_values), _mean(k_values)
        p_better = mann_whitney_shift(c_values, k_values, b_greater=higher)
        p_worse = mann_whitney_shift(c_values, k_values, b_greater=not higher)
        n_c, n_k, test = len(c_values), len(k_values), "one-sided Mann-Whitney U on per-user values"
        worse_by = None
        if c_value is not None and k_value is not None:
            if metric.key == "tokens_per_task":  # relative: tokens scale with the task mix
                worse_by = (k_value / c_value - 1.0) if c_value else None
            else:
                worse_by = (c_value - k_value) if higher else (k_value - c_value)
    return MetricComparison(
        key=metric.key, better=metric.better, test=test, control=c_value, canary=k_value, n_control=n_c, n_canary=n_k,
        worse_by=worse_by, tolerance=metric.tolerance, p_worse=p_worse, p_better=p_better,
    )


def canary_judge(
    *,
    control: Sequence[SessionMetrics],
    canary: Sequence[SessionMetrics],
    config: JudgeConfig,
    deadline_passed: bool,
) -> Judgement:
    """The verdict on a canary from both arms' sessions over the same window (module docstring)."""
    n_control, n_canary = len(control), len(canary)
    if min(n_control, n_canary) < config.min_sessions_per_arm:
        if deadline_passed:
            return Judgement("rollback", f"deadline passed with {n_control} control and {n_canary} canary sessions; "
                             f"{config.min_sessions_per_arm} per arm are needed for a verdict", n_control, n_canary)
        return Judgement("wait", f"{n_control} control and {n_canary} canary sessions; waiting for "
                         f"{config.min_sessions_per_arm} per arm", n_control, n_canary)

    control_units, canary_units = units_aggregate(control), units_aggregate(canary)
    raw = [metric_compare(metric, control_units, canary_units) for metric in config.metrics]
    adjusted_worse = holm_adjust([m.p_worse for m in raw])
    adjusted_better = holm_adjust([m.p_better for m in raw])
    compared = []
    for m, p_worse, p_better in zip(raw, adjusted_worse, adjusted_better):
        beyond = m.worse_by is not None and m.worse_by > m.tolerance
        compared.append(MetricComparison(**{
            **asdict(m), "adjusted_p_worse": p_worse, "adjusted_p_better": p_better,
            "significantly_worse": beyond and p_worse is not None and p_worse < config.alpha,
            "significantly_better": (m.worse_by is not None and m.worse_by < 0) and p_better is not None and p_better < config.alpha,
        }))
    metrics = tuple(compared)
    worse = [m for m in metrics if m.significantly_worse]
    if worse:
        listed = "; ".join(f"{m.key} {_fmt(m.control)} -> {_fmt(m.canary)} (Holm p={m.adjusted_p_worse:.3g})" for m in worse)
        return Judgement("rollback", f"significantly worse: {listed}", n_control, n_canary, metrics)
    primary = next(m for m in metrics if m.key == config.primary)
    if primary.worse_by is not None and primary.worse_by <= primary.tolerance:
        better = [m.key for m in metrics if m.significantly_better]
        return Judgement(
            "promote",
            f"no metric significantly worse; primary {primary.key} {_fmt(primary.control)} -> {_fmt(primary.canary)} is not worse"
            + (f"; significantly better: {', '.join(better)}" if better else ""),
            n_control, n_canary, metrics,
        )
    state = (f"inconclusive: primary {primary.key} {_fmt(primary.control)} -> {_fmt(primary.canary)} is worse, "
             "not significantly")
    if deadline_passed:
        return Judgement("rollback", f"{state}; deadline passed", n_control, n_canary, metrics)
    return Judgement("wait", f"{state}; waiting for more sessions", n_control, n_canary, metrics)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
