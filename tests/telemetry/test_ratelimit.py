"""The per-key rate limit: its maths by hand, over two windows, and under concurrency on the real Redis."""
from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.test import override_settings

from telemetry.ratelimit import Rate, rate_check, rate_parse, sliding_count, wait_for_room


@pytest.fixture
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_rate_parse_reads_drf_syntax_and_refuses_the_rest() -> None:
    assert rate_parse("1200/minute") == Rate(1200, 60)
    assert rate_parse("5/s") == Rate(5, 1) and rate_parse("10/hour") == Rate(10, 3600) and rate_parse("1/day") == Rate(1, 86400)
    for bad in ("1200", "x/minute", "10/fortnight", "-1/minute"):
        with pytest.raises(ValueError, match="requests"):
            rate_parse(bad)


def test_sliding_count_weights_the_previous_window_by_its_share_still_inside() -> None:
    assert sliding_count(previous=10, current=4, elapsed=0.25) == 11.5
    assert sliding_count(previous=10, current=4, elapsed=0.0) == 14


def test_wait_for_room_hand_computed() -> None:
    # This window full (3 of 3): next window, once 3 * (1 - g) + 1 <= 3, g = 1/3; from halfway: 1/2 + 1/3.
    assert wait_for_room(previous=0, current=3, elapsed=0.5, limit=3) == pytest.approx(0.5 + 1 / 3)
    # Room in this window once the previous one weighs little enough: 4 * (1 - f) + 1 + 1 <= 3, f = 3/4.
    assert wait_for_room(previous=4, current=1, elapsed=0.5, limit=3) == pytest.approx(0.25)
    assert wait_for_room(previous=0, current=1, elapsed=0.5, limit=3) == 0.0


def test_rate_check_over_two_windows(empty_cache) -> None:
    rate = Rate(3, 60)
    decisions = [rate_check("test:k", rate, now=t) for t in (0, 10, 20, 30)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after_s == pytest.approx(50.0)  # (1/2 + 1/3) of a minute
    # At 79 s the previous window still weighs 3 * 41/60 = 2.05: one more is 3.05 > 3. At 80 s, exactly 3.
    assert not rate_check("test:k", rate, now=79).allowed
    assert rate_check("test:k", rate, now=80).allowed
    assert rate_check("test:other", rate, now=80).allowed  # each key has its own count


def test_refused_requests_do_not_use_up_the_budget(empty_cache) -> None:
    rate = Rate(2, 60)
    assert [rate_check("test:r", rate, now=1).allowed for _ in range(10)] == [True, True] + [False] * 8
    # Next window: the previous one's 2 (not 10) weigh 2 * (1 - 0.5) = 1, so one more fits.
    assert [rate_check("test:r", rate, now=90).allowed for _ in range(2)] == [True, False]


def test_concurrent_requests_never_pass_the_limit_on_redis(service_urls) -> None:
    """16 threads, 5 requests each, in one window of a 20-per-minute rate: exactly 20 pass.

    DRF's SimpleRateThrottle, which this replaced, let all 80 through here (lost updates)."""
    redis_cache = {"default": {"BACKEND": "config.cache.ReusingRedisCache", "LOCATION": service_urls["REDIS_URL"]}}
    with override_settings(CACHES=redis_cache):
        cache.clear()
        start = threading.Barrier(16)
        allowed: list[bool] = []

        def client() -> None:
            start.wait()
            allowed.extend(rate_check("test:concurrent", Rate(20, 60), now=1_000_020.0).allowed for _ in range(5))

        threads = [threading.Thread(target=client) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert type(cache._cache).__name__ == "ReusingRedisCacheClient"  # the real Redis, not local memory
        cache.clear()
    assert len(allowed) == 80 and sum(allowed) == 20


def test_redis_incr_is_one_atomic_step_and_keeps_djangos_contract(service_urls) -> None:
    redis_cache = {"default": {"BACKEND": "config.cache.ReusingRedisCache", "LOCATION": service_urls["REDIS_URL"]}}
    with override_settings(CACHES=redis_cache):
        cache.delete("test:counter")
        with pytest.raises(ValueError, match="not found"):
            cache.incr("test:counter")
        assert cache.get("test:counter") is None  # not created by the failed increment
        cache.add("test:counter", 0, 60)
        assert (cache.incr("test:counter"), cache.incr("test:counter", 5), cache.decr("test:counter")) == (1, 6, 5)
        assert cache.get("test:counter") == 5
        cache.delete("test:counter")
