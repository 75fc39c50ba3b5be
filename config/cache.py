"""Django's Redis cache, with one Redis client per connection pool instead of one per call.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache call,
and building one (its table of response callbacks) cost more CPU than the call itself: an
ingest request makes three (the API-key lookup, the rate limit's count and its read of the
previous window). A ``redis.Redis`` is safe to share between threads; its pool hands each
command a connection.

``incr``/``decr`` (the rate limit's counters) are one atomic round trip instead of Django's
two (``EXISTS``, then ``INCRBY``), with the same contract: a missing key raises ValueError
and is not created.
"""
from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


INCR_EXISTING = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('incrby', KEYS[1], ARGV[1]) end return false"


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def incr(self, key, delta):
        value = self.get_client(key, write=True).eval(INCR_EXISTING, 1, key, delta)
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            # Pools live as long as this object (Django keeps them in self._pools), so id() is stable.
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
