"""The statistical tests the gate and the canary judge use (pure; scipy for distributions).

- ``proportion_worse_test`` / ``proportion_better_test``: one-sided two-proportion z-tests
  with a margin (pooled standard error when the margin is 0, unpooled otherwise, as in a
  Wald non-inferiority test);
- ``mean_shift_test``: one-sided Welch t-test from mean, standard deviation and n;
- ``mann_whitney_shift``: one-sided Mann-Whitney U (asymptotic, tie-corrected), Kayenta's
  test for continuous per-session metrics;
- ``paired_improvement_test``: one-sided paired z-test on per-item differences (both
  policies answered the same tasks), with a margin: per-task success, or tokens;
- ``ratio_better_test``: one-sided z-test of a ratio metric (sum of hits / sum of trials)
  whose trials come in clusters (the users assignment is sticky for), with the delta-method
  variance of the ratio (Deng, Knoblich and Lu, "Applying the Delta Method in Metric
  Analytics", KDD 2018): calls of one user are not independent, so the pooled
  two-proportion test would overstate the evidence;
- ``paired_ratio_better_test``: the same ratio test when both sides come from the same
  clusters (the gate's held-out tasks, each answered several times by both policies);
- ``holm_adjust``: Holm's step-down adjustment for a family of p-values.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats as scipy_stats


def proportion_better_test(*, successes_a: int, trials_a: int, successes_b: int, trials_b: int, margin: float = 0.0) -> float | None:
    """One-sided p for H1: p_b - p_a > margin (b beats a by more than ``margin``); None without data."""
    if trials_a <= 0 or trials_b <= 0:
        return None
    pa, pb = successes_a / trials_a, successes_b / trials_b
    if margin == 0.0:
        pooled = (successes_a + successes_b) / (trials_a + trials_b)
        se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / trials_a + 1.0 / trials_b))
    else:
        se = math.sqrt(pa * (1.0 - pa) / trials_a + pb * (1.0 - pb) / trials_b)
    diff = pb - pa - margin
    if se == 0.0:
        return 0.0 if diff > 0 else 1.0
    return float(scipy_stats.norm.sf(diff / se))


def proportion_worse_test(
    *, successes_a: int, trials_a: int, successes_b: int, trials_b: int, higher_is_better: bool
) -> float | None:
    """One-sided p for H1: b is worse than a (lower share if higher is better, else higher)."""
    if higher_is_better:
        return proportion_better_test(successes_a=successes_b, trials_a=trials_b, successes_b=successes_a, trials_b=trials_a)
    return proportion_better_test(successes_a=successes_a, trials_a=trials_a, successes_b=successes_b, trials_b=trials_b)


def mean_shift_test(
    *, mean_a: float, sd_a: float | None, n_a: int, mean_b: float, sd_b: float | None, n_b: int, increase: bool
) -> float | None:
    """One-sided Welch t-test p for H1: mean_b > mean_a (``increase``) or mean_b < mean_a."""
    if n_a < 2 or n_b < 2 or sd_a is None or sd_b is None:
        return None
    va, vb = sd_a * sd_a / n_a, sd_b * sd_b / n_b
    se = math.sqrt(va + vb)
    diff = (mean_b - mean_a) if increase else (mean_a - mean_b)
    if se == 0.0:
        return 0.0 if diff > 0 else 1.0
    df = (va + vb) ** 2 / ((va * va / (n_a - 1)) + (vb * vb / (n_b - 1)))
    return float(scipy_stats.t.sf(diff / se, df))


def mann_whitney_shift(a: Sequence[float], b: Sequence[float], *, b_greater: bool) -> float | None:
    """One-sided Mann-Whitney U p for H1: b tends to be greater (``b_greater``) or smaller than a.

    Asymptotic with tie and continuity correction; None when either sample is empty or all
    values are equal (no ranking information).
    """
    if not a or not b:
        return None
    if len(set(a) | set(b)) < 2:
        return 1.0
    alternative = "greater" if b_greater else "less"
    result = scipy_stats.mannwhitneyu(list(b), list(a), alternative=alternative, method="asymptotic", use_continuity=True)
    return float(result.pvalue)


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm step-down adjusted p-values (same order; None entries are not part of the family).

    adjusted_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)) over the ascending order.
    """
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[index] = running
    return adjusted


def paired_improvement_test(a: Sequence[float], b: Sequence[float], *, margin: float = 0.0) -> float | None:
    """One-sided p for H1: mean(b - a) > margin over paired outcomes (same items, same order).

    Outcomes are 0/1 (or bools), per-item success shares in [0, 1] when each item was tried
    several times, or any other per-item value (the gate's per-task mean tokens).
    d_i = b_i - a_i; z = (mean(d) - margin) / (sd(d) / sqrt(n)). With sd(d) = 0 (no
    discordant pair): p is 0 when the mean difference beats the margin, else 1.
    """
    if len(a) != len(b):
        raise ValueError("paired outcomes must have the same length")
    n = len(a)
    if n < 2:
        return None
    diffs = [float(y) - float(x) for x, y in zip(a, b)]
    mean = sum(diffs) / n
    variance = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    if variance == 0.0:
        return 0.0 if mean > margin else 1.0
    return float(scipy_stats.norm.sf((mean - margin) / math.sqrt(variance / n)))


def ratio_delta_variance(clusters: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """[(hits_i, trials_i)] per cluster -> (ratio sum(hits)/sum(trials), its delta-method variance).

    Var(R) ~= (s_Y^2 - 2 R s_YN + R^2 s_N^2) / (n * mean_N^2), with the sample (co)variances
    of hits Y and trials N over the n clusters. None with fewer than 2 clusters or no trials.
    """
    n = len(clusters)
    total_hits, total_trials = sum(hits for hits, _ in clusters), sum(trials for _, trials in clusters)
    if n < 2 or total_trials <= 0:
        return None
    ratio = total_hits / total_trials
    mean_y, mean_n = total_hits / n, total_trials / n
    var_y = sum((hits - mean_y) ** 2 for hits, _ in clusters) / (n - 1)
    var_n = sum((trials - mean_n) ** 2 for _, trials in clusters) / (n - 1)
    cov_yn = sum((hits - mean_y) * (trials - mean_n) for hits, trials in clusters) / (n - 1)
    variance = max(0.0, var_y - 2.0 * ratio * cov_yn + ratio * ratio * var_n) / (n * mean_n * mean_n)
    return ratio, variance


def ratio_better_test(
    a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]], *, margin: float = 0.0
) -> float | None:
    """One-sided p for H1: ratio_b - ratio_a > margin, clusters given as [(hits, trials)]; None without data."""
    stats_a, stats_b = ratio_delta_variance(a), ratio_delta_variance(b)
    if stats_a is None or stats_b is None:
        return None
    (ratio_a, var_a), (ratio_b, var_b) = stats_a, stats_b
    diff = ratio_b - ratio_a - margin
    se = math.sqrt(var_a + var_b)
    if se == 0.0:
        return 0.0 if diff > 0 else 1.0
    return float(scipy_stats.norm.sf(diff / se))


def paired_ratio_better_test(
    a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]], *, margin: float = 0.0
) -> float | None:
    """One-sided p for H1: ratio_b - ratio_a > margin, where cluster i of ``a`` and of ``b`` is
    the same unit (paired), each given as (hits, trials); None without data on either side.

    Delta method on the difference of the two ratios: cluster i's influence is
    u_i = (y_bi - R_b n_bi) / mean(n_b) - (y_ai - R_a n_ai) / mean(n_a), and
    Var(R_b - R_a) ~= s_u^2 / n. It keeps what the pooled two-proportion test drops: answers
    in one cluster are correlated, and both sides share each cluster.
    """
    if len(a) != len(b):
        raise ValueError("paired clusters must have the same length")
    n = len(a)
    trials_a, trials_b = sum(t for _, t in a), sum(t for _, t in b)
    if n < 2 or trials_a <= 0 or trials_b <= 0:
        return None
    ratio_a, ratio_b = sum(h for h, _ in a) / trials_a, sum(h for h, _ in b) / trials_b
    mean_a, mean_b = trials_a / n, trials_b / n
    influence = [(yb - ratio_b * nb) / mean_b - (ya - ratio_a * na) / mean_a for (ya, na), (yb, nb) in zip(a, b)]
    variance = sum(u * u for u in influence) / (n - 1) / n
    diff = ratio_b - ratio_a - margin
    if variance <= 0.0:
        return 0.0 if diff > 0 else 1.0
    return float(scipy_stats.norm.sf(diff / math.sqrt(variance)))
