"""The canary judge on per-user metrics, and its ratio test."""
from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
from scipy import stats as scipy_stats

from training.release.judge import JudgeConfig, JudgeMetric, SessionMetrics, canary_judge
from training.release.stats import mann_whitney_shift, ratio_better_test, ratio_delta_variance


def sessions(n: int, *, success: float, errors: float, tokens: float, retention: float, seed: int) -> list[SessionMetrics]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        tasks = 3
        calls = 4
        total = 200
        out.append(SessionMetrics(
            session_id=f"s{seed}-{i}",
            retention_retained=int(total * min(1.0, max(0.0, rng.gauss(retention, 0.1)))), retention_total=total,
            tasks_finished=tasks, tasks_succeeded=sum(rng.random() < success for _ in range(tasks)),
            finished_task_tokens=int(tasks * max(1.0, rng.gauss(tokens, 20))),
            tool_calls=calls, tool_errors=sum(rng.random() < errors for _ in range(calls)),
            windows_shell_calls=2, windows_shell_errors=sum(rng.random() < errors for _ in range(2)),
        ))
    return out


CONTROL = sessions(120, success=0.5, errors=0.3, tokens=200, retention=0.7, seed=1)
CONFIG = JudgeConfig(min_sessions_per_arm=50)


def test_better_canary_is_promoted_with_every_number():
    better = sessions(120, success=0.7, errors=0.1, tokens=170, retention=0.8, seed=2)
    judgement = canary_judge(control=CONTROL, canary=better, config=CONFIG, deadline_passed=False)
    assert judgement.verdict == "promote", judgement.reason
    by_key = {m.key: m for m in judgement.metrics}
    assert set(by_key) == {"code_retention_5m", "tool_call_error_rate", "tokens_per_task", "task_success_rate", "windows_terminal_accuracy"}
    assert by_key["tool_call_error_rate"].significantly_better
    assert by_key["tokens_per_task"].test.startswith("one-sided Mann-Whitney")
    assert all(m.adjusted_p_worse >= m.p_worse for m in judgement.metrics)


def test_worse_canary_is_rolled_back():
    worse = sessions(120, success=0.5, errors=0.5, tokens=200, retention=0.7, seed=3)
    judgement = canary_judge(control=CONTROL, canary=worse, config=CONFIG, deadline_passed=False)
    assert judgement.verdict == "rollback"
    assert "tool_call_error_rate" in judgement.reason
    assert [m.key for m in judgement.metrics if m.significantly_worse] == ["tool_call_error_rate", "windows_terminal_accuracy"]


def test_inconclusive_waits_then_times_out():
    # The control's own sessions, one task fewer succeeded in 12 of them: 3.3 points worse, not significantly.
    lowered = [i for i, s in enumerate(CONTROL) if s.tasks_succeeded > 0][:12]
    slightly_worse = [
        replace(s, session_id=f"c-{s.session_id}", tasks_succeeded=s.tasks_succeeded - (i in lowered))
        for i, s in enumerate(CONTROL)
    ]
    waiting = canary_judge(control=CONTROL, canary=slightly_worse, config=CONFIG, deadline_passed=False)
    assert waiting.verdict == "wait" and waiting.reason.startswith("inconclusive")
    timed_out = canary_judge(control=CONTROL, canary=slightly_worse, config=CONFIG, deadline_passed=True)
    assert timed_out.verdict == "rollback" and "deadline passed" in timed_out.reason


def test_too_few_sessions_waits_then_times_out():
    few = sessions(10, success=0.9, errors=0.0, tokens=100, retention=0.9, seed=5)
    assert canary_judge(control=CONTROL, canary=few, config=CONFIG, deadline_passed=False).verdict == "wait"
    late = canary_judge(control=CONTROL, canary=few, config=CONFIG, deadline_passed=True)
    assert late.verdict == "rollback" and "50 per arm" in late.reason


def test_tolerance_absorbs_a_small_significant_worsening():
    bloated = sessions(120, success=0.5, errors=0.3, tokens=230, retention=0.7, seed=6)
    strict = canary_judge(control=CONTROL, canary=bloated, config=CONFIG, deadline_passed=False)
    assert strict.verdict == "rollback" and "tokens_per_task" in strict.reason
    lenient = JudgeConfig(
        metrics=tuple(JudgeMetric(m.key, m.better, 0.25 if m.key == "tokens_per_task" else 0.05) for m in CONFIG.metrics),
        min_sessions_per_arm=50,
    )
    assert canary_judge(control=CONTROL, canary=bloated, config=lenient, deadline_passed=False).verdict != "rollback"


def test_mann_whitney_by_hand():
    # b = [4, 5, 6] vs a = [1, 2, 3]: U = 9 (every pair), mean 4.5, sd sqrt(3*3*7/12) = 2.2913;
    # with continuity: z = (9 - 4.5 - 0.5) / 2.2913 = 1.7457 -> one-sided p = 0.0404
    assert mann_whitney_shift([1, 2, 3], [4, 5, 6], b_greater=True) == pytest.approx(0.0404, abs=1e-3)
    assert mann_whitney_shift([1, 2, 3], [4, 5, 6], b_greater=False) > 0.9


def test_config_is_validated():
    with pytest.raises(ValueError, match="primary"):
        JudgeConfig(primary="acceptance_rate")


def test_delta_method_ratio_variance_by_hand():
    # clusters (hits, trials): (1, 2), (3, 4), (2, 6): R = 6/12 = 0.5; mean_Y 2, mean_N 4;
    # s_Y^2 = (1 + 1 + 0)/2 = 1, s_N^2 = (4 + 0 + 4)/2 = 4, s_YN = (2 + 0 + 0)/2 = 1;
    # Var(R) = (1 - 2*0.5*1 + 0.25*4) / (3 * 16) = 1/48
    ratio, variance = ratio_delta_variance([(1, 2), (3, 4), (2, 6)])
    assert ratio == pytest.approx(0.5) and variance == pytest.approx(1 / 48)
    assert ratio_delta_variance([(1, 2)]) is None  # one cluster: no variance


def test_one_session_per_user_matches_the_unpooled_proportion_test():
    # Every user one trial: s_N^2 = 0, so Var(R) = s_Y^2 / n = p(1-p)/(n-1), the unpooled z-test with n-1.
    a = [(1, 1)] * 30 + [(0, 1)] * 70
    b = [(1, 1)] * 45 + [(0, 1)] * 55
    p = ratio_better_test(a, b)
    se = math.sqrt(0.3 * 0.7 / 99 + 0.45 * 0.55 / 99)
    assert p == pytest.approx(scipy_stats.norm.sf(0.15 / se), rel=1e-6)


def heavy_user_arm(error_rates: list[float], *, prefix: str, sessions_per_user: int = 12) -> list[SessionMetrics]:
    """Users with their own tool-call error rate (as their OS and habits set it), many sessions each."""
    out = []
    for u, rate in enumerate(error_rates):
        for k in range(sessions_per_user):
            calls = 10
            errors = round(calls * rate)
            out.append(SessionMetrics(
                session_id=f"{prefix}-{u}-{k}", unit=f"{prefix}-user-{u}", retention_retained=140, retention_total=200,
                tasks_finished=2, tasks_succeeded=1, finished_task_tokens=400, tool_calls=calls, tool_errors=errors,
            ))
    return out


def test_the_judge_counts_users_not_sessions():
    """Same two kinds of users in both arms, a few more error-prone ones in the canary by chance:
    per session (120 + 120 sessions, 1,200 calls each) that looks significant; per user (10 v 10) it is not."""
    control = heavy_user_arm([0.1] * 6 + [0.6] * 4, prefix="control")
    canary = heavy_user_arm([0.1] * 4 + [0.6] * 6, prefix="canary")
    judgement = canary_judge(control=control, canary=canary, config=CONFIG, deadline_passed=False)
    errors = next(m for m in judgement.metrics if m.key == "tool_call_error_rate")
    assert (errors.n_control, errors.n_canary) == (10, 10)
    assert errors.test == "one-sided delta-method z-test of the ratio over users"
    assert errors.p_worse > 0.05
    assert not errors.significantly_worse and judgement.verdict != "rollback"
    # The same sessions judged as independent units would have rolled the canary back.
    as_sessions = [replace(s, unit="") for s in control], [replace(s, unit="") for s in canary]
    naive = canary_judge(control=as_sessions[0], canary=as_sessions[1], config=CONFIG, deadline_passed=False)
    assert naive.verdict == "rollback" and "tool_call_error_rate" in naive.reason
