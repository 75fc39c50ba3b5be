"""dashboard.stats against published values and brute-force computations."""
from __future__ import annotations

import math
import random
import statistics

import pytest

from dashboard.stats import (
    Estimate,
    mean_estimate,
    normal_two_sided_p,
    proportion_difference,
    ratio_of_sums_estimate,
    regularized_incomplete_beta,
    relative_change,
    student_t_critical,
    student_t_two_sided_p,
    welch_df,
    welch_difference,
    wilson_interval,
)


def test_student_t_matches_reference_values():
    # Reference values from scipy.stats.t (computed once, hard-coded).
    assert student_t_two_sided_p(2.0, 10) == pytest.approx(0.07338803477074037, rel=1e-9)
    assert student_t_two_sided_p(1.3, 3.5) == pytest.approx(0.2725954158043702, rel=1e-9)
    assert student_t_two_sided_p(0.5, 1) == pytest.approx(0.7048327646991335, rel=1e-9)
    assert student_t_two_sided_p(4.2, 250) == pytest.approx(3.71520315831016e-05, rel=1e-7)
    assert student_t_critical(10) == pytest.approx(2.228138851986274, rel=1e-9)
    assert student_t_critical(3.5) == pytest.approx(2.9400886379827282, rel=1e-9)
    assert student_t_critical(1e6) == pytest.approx(1.959963984540054, rel=2e-6)
    assert student_t_critical(20) == pytest.approx(2.085963447265864, rel=2e-7)  # expansion from df 20 on
    assert student_t_critical(19.999) == pytest.approx(2.0860, abs=1e-4)  # bisection below
    assert student_t_critical(999) == pytest.approx(1.9623414611334493, rel=1e-12)
    assert normal_two_sided_p(1.959963984540054) == pytest.approx(0.05, rel=1e-12)


def test_incomplete_beta_edges_and_symmetry():
    assert regularized_incomplete_beta(0.0, 2, 3) == 0.0
    assert regularized_incomplete_beta(1.0, 2, 3) == 1.0
    assert regularized_incomplete_beta(0.5, 4, 4) == pytest.approx(0.5)
    x, a, b = 0.3, 2.5, 7.0
    assert regularized_incomplete_beta(x, a, b) == pytest.approx(1 - regularized_incomplete_beta(1 - x, b, a))


def test_wilson_interval_matches_reference():
    e = wilson_interval(8, 10)
    assert e.value == 0.8
    assert (e.low, e.high) == (pytest.approx(0.4901624715366418), pytest.approx(0.9433178485456248))
    e = wilson_interval(81, 263)
    assert (e.low, e.high) == (pytest.approx(0.2552885198782742), pytest.approx(0.36620957698280004))
    assert e.n == 263
    assert wilson_interval(0, 0).value is None
    zero = wilson_interval(0, 50)
    assert zero.low == 0.0 and 0 < zero.high < 0.1
    full = wilson_interval(50, 50)
    assert full.high == 1.0 and 0.9 < full.low < 1.0


def test_newcombe_difference_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 - 48/80, method 10.
    d = proportion_difference(successes_a=48, trials_a=80, successes_b=56, trials_b=70)
    assert d.diff == pytest.approx(0.2)
    assert d.low == pytest.approx(0.0524, abs=5e-5)
    assert d.high == pytest.approx(0.3339, abs=5e-5)
    # Pooled two-proportion z-test.
    pooled = 104 / 150
    z = 0.2 / math.sqrt(pooled * (1 - pooled) * (1 / 80 + 1 / 70))
    assert d.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert d.significant
    # Katz log interval of the risk ratio, minus one.
    se_log = math.sqrt((1 - 0.8) / 56 + (1 - 0.6) / 48)
    assert d.relative == pytest.approx(0.8 / 0.6 - 1)
    assert d.relative_low == pytest.approx(math.exp(math.log(0.8 / 0.6) - 1.959963984540054 * se_log) - 1)


def test_identical_proportions_are_not_significant():
    d = proportion_difference(successes_a=30, trials_a=100, successes_b=30, trials_b=100)
    assert d.diff == 0 and d.p_value == pytest.approx(1.0) and not d.significant
    assert d.low < 0 < d.high
    assert proportion_difference(successes_a=0, trials_a=0, successes_b=3, trials_b=10).diff is None


def _pairs(seed: int, n: int, keep: float) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        total = rng.randint(20, 800)
        pairs.append((min(total, int(total * rng.uniform(keep - 0.3, keep + 0.2))), total))
    return pairs


def _ratio_from_pairs(pairs):
    return ratio_of_sums_estimate(
        numerator=sum(y for y, _ in pairs), denominator=sum(x for _, x in pairs),
        numerator_sq=sum(y * y for y, _ in pairs), denominator_sq=sum(x * x for _, x in pairs),
        cross=sum(x * y for y, x in pairs), units=len(pairs),
    )


def test_ratio_of_sums_delta_method_equals_the_per_unit_formula():
    pairs = _pairs(1, 400, 0.8)
    e = _ratio_from_pairs(pairs)
    n = len(pairs)
    r = sum(y for y, _ in pairs) / sum(x for _, x in pairs)
    mean_x = statistics.fmean(x for _, x in pairs)
    residual_var = sum((y - r * x) ** 2 for y, x in pairs) / (n - 1)
    se = math.sqrt(residual_var / n) / mean_x
    assert e.value == pytest.approx(r)
    assert e.se == pytest.approx(se, rel=1e-9)
    assert e.low == pytest.approx(r - student_t_critical(n - 1) * se)
    assert e.n == n


def test_ratio_of_sums_interval_covers_the_truth_about_95_percent():
    # Coverage check by simulation: the true ratio is E[y]/E[x] of the generator.
    rng = random.Random(3)
    truth, covered, trials = 0.7, 0, 400
    for _ in range(trials):
        pairs = []
        for _ in range(200):
            x = rng.randint(10, 400)
            y = int(round(x * truth + rng.gauss(0, 0.1) * x))
            pairs.append((y, x))
        e = _ratio_from_pairs(pairs)
        covered += e.low <= truth <= e.high
    assert 0.92 <= covered / trials <= 0.98


def test_ratio_of_sums_degenerate_inputs():
    assert ratio_of_sums_estimate(numerator=0, denominator=0, numerator_sq=0, denominator_sq=0, cross=0, units=0).value is None
    one = ratio_of_sums_estimate(numerator=40, denominator=50, numerator_sq=1600, denominator_sq=2500, cross=2000, units=1)
    assert one.value == 0.8 and one.low is None
    perfect = ratio_of_sums_estimate(numerator=100, denominator=100, numerator_sq=5000, denominator_sq=5000, cross=5000, units=2)
    assert perfect.value == 1.0 and perfect.se == 0.0


def test_mean_estimate_equals_statistics_module():
    values = [random.Random(9).randint(1000, 20000) for _ in range(57)]
    e = mean_estimate(total=sum(values), total_sq=sum(v * v for v in values), n=len(values))
    assert e.value == pytest.approx(statistics.fmean(values))
    se = statistics.stdev(values) / math.sqrt(len(values))
    assert e.se == pytest.approx(se, rel=1e-9)
    assert e.high - e.value == pytest.approx(student_t_critical(56) * se)
    assert mean_estimate(total=0, total_sq=0, n=0).value is None


def test_welch_difference_matches_the_textbook_formula():
    a = Estimate(value=10.0, se=1.0, n=20)
    b = Estimate(value=13.0, se=1.5, n=10)
    d = welch_difference(a, b)
    df = (1.0 + 2.25) ** 2 / (1.0 / 19 + 2.25 ** 2 / 9)
    assert welch_df(a, b) == pytest.approx(df)
    se = math.sqrt(3.25)
    assert d.diff == 3.0
    assert d.p_value == pytest.approx(student_t_two_sided_p(3.0 / se, df))
    assert d.high - d.diff == pytest.approx(student_t_critical(df) * se)
    assert d.relative == pytest.approx(0.3)


def test_relative_change_needs_positive_values():
    assert relative_change(Estimate(value=0.0, se=0.1, n=5), Estimate(value=1.0, se=0.1, n=5)) == (None, None, None)
    relative, low, high = relative_change(Estimate(value=2.0, se=0.1, n=50), Estimate(value=1.0, se=0.1, n=50))
    assert relative == pytest.approx(-0.5) and low < -0.5 < high
