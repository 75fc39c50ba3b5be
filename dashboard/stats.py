"""Confidence intervals and difference tests for the dashboard's metrics (pure, no Django).

Every estimate is computed from additive sums that the hourly rollups keep, so that any
slice (version, hour, OS, tool...) gets an interval without reading raw events:

- proportions (tool-call error rate, acceptance rate, task success): Wilson score interval;
  two versions are compared with the pooled two-proportion z-test and Newcombe's hybrid
  score interval (method 10) for the difference;
- ratio-of-sums estimators (code retention = retained chars / accepted chars over the
  retention checks): delta-method (linearization) standard error from the sums of
  squares and cross products;
- means (tokens per finished task): Student t interval from the sum and sum of squares;
- ratios and means are compared with a Welch-style t-test (Welch–Satterthwaite degrees of
  freedom) on the difference;
- relative change b/a - 1: log-ratio delta method (Katz for proportions).

All intervals are two-sided at 95%. ``None`` means "not enough data".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

CONFIDENCE = 0.95
Z95 = NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)  # 1.959963984540054
SIGNIFICANCE_LEVEL = 0.05
# Above this many degrees of freedom the t distribution is the normal one to <1e-3.
T_AS_NORMAL_DF = 1000.0


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% interval and standard error, from ``n`` units."""

    value: float | None
    low: float | None = None
    high: float | None = None
    se: float | None = None
    n: int = 0

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "se": self.se, "n": self.n}


@dataclass(frozen=True)
class Difference:
    """b - a (absolute) and b / a - 1 (relative), each with a 95% interval, and a p-value."""

    diff: float | None
    low: float | None = None
    high: float | None = None
    relative: float | None = None
    relative_low: float | None = None
    relative_high: float | None = None
    p_value: float | None = None
    test: str = ""

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < SIGNIFICANCE_LEVEL

    def as_dict(self) -> dict:
        return {
            "diff": self.diff,
            "low": self.low,
            "high": self.high,
            "relative": self.relative,
            "relative_low": self.relative_low,
            "relative_high": self.relative_high,
            "p_value": self.p_value,
            "significant": self.significant,
            "test": self.test,
        }


EMPTY = Estimate(value=None)
NO_DIFFERENCE = Difference(diff=None)


# --- distributions -------------------------------------------------------------------


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's continued fraction for the incomplete beta function (Numerical Recipes 6.4)."""
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < eps:
            break
    return h


def regularized_incomplete_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) for 0 <= x <= 1 and a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def student_t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom (normal above 1000)."""
    if df >= T_AS_NORMAL_DF or math.isinf(df):
        return normal_two_sided_p(t)
    return regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5)


def student_t_critical(df: float, confidence: float = CONFIDENCE) -> float:
    """The t with P(|T| <= t) = ``confidence``.

    df >= 20: Cornish–Fisher expansion in 1/df (Abramowitz & Stegun 26.7.5; relative error
    below 2e-7 there, and exact in the limit); below: bisection on the two-sided p, cached.
    """
    if math.isinf(df):
        return NormalDist().inv_cdf(0.5 + confidence / 2.0)
    if df >= 20:
        return _t_critical_expansion(df, NormalDist().inv_cdf(0.5 + confidence / 2.0))
    return _t_critical_bisection(round(df, 6), confidence)


def _t_critical_expansion(v: float, z: float) -> float:
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
        + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4)
    )


@lru_cache(maxsize=4096)
def _t_critical_bisection(df: float, confidence: float) -> float:
    alpha = 1.0 - confidence
    low, high = 0.0, 1.0
    while student_t_two_sided_p(high, df) > alpha:
        high *= 2.0
    for _ in range(80):
        mid = (low + high) / 2.0
        if student_t_two_sided_p(mid, df) > alpha:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


# --- single-sample estimates ---------------------------------------------------------


def wilson_interval(successes: int, trials: int, z: float = Z95) -> Estimate:
    """Share ``successes / trials`` with the Wilson score interval.

    ``se`` is the Wald standard error sqrt(p(1-p)/n), used for relative changes.
    """
    if trials <= 0:
        return EMPTY
    p = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (p + z2 / (2.0 * trials)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / trials + z2 / (4.0 * trials * trials)) / denominator
    return Estimate(
        value=p,
        low=max(0.0, centre - half),
        high=min(1.0, centre + half),
        se=math.sqrt(p * (1.0 - p) / trials),
        n=trials,
    )


def ratio_of_sums_estimate(
    *,
    numerator: int,
    denominator: int,
    numerator_sq: int,
    denominator_sq: int,
    cross: int,
    units: int,
    z: float = Z95,
) -> Estimate:
    """R = sum(y) / sum(x) over ``units`` pairs (y_i, x_i), with a delta-method interval.

    Var(R) ~= sum((y_i - R x_i)^2) / (n (n - 1) xbar^2). The residuals' sum of squares is
    sum(y^2) - 2R sum(xy) + R^2 sum(x^2), evaluated in exact integer arithmetic (it is a
    small difference of large sums when R is close to 1).
    Preconditions: y_i <= x_i is not needed; x_i >= 0 and sum(x) > 0 for an estimate.
    """
    if units <= 0 or denominator <= 0:
        return Estimate(value=None, n=max(units, 0))
    value = numerator / denominator
    if units < 2:
        return Estimate(value=value, n=units)
    # X^2 * SSE = X^2 Syy - 2 X Y Sxy + Y^2 Sxx   (integers)
    scaled_sse = denominator * denominator * numerator_sq - 2 * denominator * numerator * cross + numerator * numerator * denominator_sq
    sse = max(scaled_sse, 0) / (denominator * denominator)
    mean_x = denominator / units
    variance = sse / (units * (units - 1) * mean_x * mean_x)
    se = math.sqrt(variance)
    critical = z if units - 1 >= T_AS_NORMAL_DF else student_t_critical(units - 1)
    return Estimate(value=value, low=value - critical * se, high=value + critical * se, se=se, n=units)


def mean_estimate(*, total: int, total_sq: int, n: int) -> Estimate:
    """Mean of ``n`` values from their sum and sum of squares, with a Student t interval."""
    if n <= 0:
        return EMPTY
    mean = total / n
    if n < 2:
        return Estimate(value=mean, n=n)
    # Sample variance (n Sxx - S^2) / (n (n - 1)), exact in integers before the division.
    variance = max(n * total_sq - total * total, 0) / (n * (n - 1))
    se = math.sqrt(variance / n)
    critical = student_t_critical(n - 1)
    return Estimate(value=mean, low=mean - critical * se, high=mean + critical * se, se=se, n=n)


# --- differences between two versions ------------------------------------------------


def relative_change(a: Estimate, b: Estimate, z: float = Z95) -> tuple[float | None, float | None, float | None]:
    """b / a - 1 with a log-ratio delta-method interval (Katz's for proportions).

    se(log(b/a)) = sqrt((se_a / a)^2 + (se_b / b)^2). Returns (relative, low, high).
    """
    if a.value is None or b.value is None or a.value == 0:
        return None, None, None
    relative = b.value / a.value - 1.0
    if a.se is None or b.se is None or a.value <= 0 or b.value <= 0:
        return relative, None, None
    se_log = math.sqrt((a.se / a.value) ** 2 + (b.se / b.value) ** 2)
    log_ratio = math.log(b.value / a.value)
    return relative, math.exp(log_ratio - z * se_log) - 1.0, math.exp(log_ratio + z * se_log) - 1.0


def proportion_difference(
    *, successes_a: int, trials_a: int, successes_b: int, trials_b: int, z: float = Z95
) -> Difference:
    """p_b - p_a: Newcombe hybrid score interval and pooled two-proportion z-test."""
    a = wilson_interval(successes_a, trials_a, z)
    b = wilson_interval(successes_b, trials_b, z)
    if a.value is None or b.value is None:
        return NO_DIFFERENCE
    diff = b.value - a.value
    low = diff - math.sqrt((b.value - b.low) ** 2 + (a.high - a.value) ** 2)
    high = diff + math.sqrt((b.high - b.value) ** 2 + (a.value - a.low) ** 2)
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    se_pooled = math.sqrt(pooled * (1.0 - pooled) * (1.0 / trials_a + 1.0 / trials_b))
    if se_pooled > 0:
        p_value = normal_two_sided_p(diff / se_pooled)
    else:
        p_value = 1.0 if diff == 0 else 0.0
    relative, relative_low, relative_high = relative_change(a, b, z)
    return Difference(
        diff=diff, low=low, high=high,
        relative=relative, relative_low=relative_low, relative_high=relative_high,
        p_value=p_value, test="two-proportion z-test; Newcombe interval",
    )


def welch_df(a: Estimate, b: Estimate) -> float:
    """Welch–Satterthwaite degrees of freedom of se_a^2 + se_b^2 (from n_a - 1, n_b - 1)."""
    va, vb = (a.se or 0.0) ** 2, (b.se or 0.0) ** 2
    denominator = (va * va / (a.n - 1) if a.n > 1 else 0.0) + (vb * vb / (b.n - 1) if b.n > 1 else 0.0)
    if denominator == 0:
        return math.inf
    return (va + vb) ** 2 / denominator


def welch_difference(a: Estimate, b: Estimate, z: float = Z95) -> Difference:
    """b - a for two independent estimates with standard errors (means, ratio estimators).

    t = (b - a) / sqrt(se_a^2 + se_b^2) on Welch–Satterthwaite degrees of freedom.
    """
    if a.value is None or b.value is None:
        return NO_DIFFERENCE
    diff = b.value - a.value
    relative, relative_low, relative_high = relative_change(a, b, z)
    if a.se is None or b.se is None:
        return Difference(diff=diff, relative=relative, test="welch t-test")
    se = math.sqrt(a.se ** 2 + b.se ** 2)
    if se == 0:
        return Difference(
            diff=diff, low=diff, high=diff, relative=relative, relative_low=relative_low,
            relative_high=relative_high, p_value=1.0 if diff == 0 else 0.0, test="welch t-test",
        )
    df = welch_df(a, b)
    critical = student_t_critical(df)
    return Difference(
        diff=diff, low=diff - critical * se, high=diff + critical * se,
        relative=relative, relative_low=relative_low, relative_high=relative_high,
        p_value=student_t_two_sided_p(diff / se, df), test="welch t-test",
    )
