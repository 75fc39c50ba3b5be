"""Ingestion pipeline health: consumer lag and dead-letter backlog.

In Kafka mode (``KAFKA_BOOTSTRAP_SERVERS`` set):
- consumer lag = sum over the partitions of ``TELEMETRY_TOPIC`` of (end offset - offset
  committed by ``TELEMETRY_CONSUMER_GROUP``; the beginning offset where none is committed,
  as the consumer starts from the earliest);
- dead letters = messages in ``TELEMETRY_DLQ_TOPIC`` past the offsets committed by the
  replay group ``<group>-dlq-replay`` (i.e. not yet replayed).
In the embedded mode the bus stores synchronously, so the lag is 0, and dead letters are
the unreplayed ``DeadLetter`` rows.

Both are pipeline-wide, not per organization: the queues are shared and a poison message
may not even decode to an organization. Kafka answers are cached a few seconds.
"""
from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache

from telemetry.models import DeadLetter

logger = logging.getLogger("flywheel.dashboard.pipeline")

CACHE_KEY = "flywheel:dashboard:pipeline-status"
CACHE_S = 5
ERROR_CACHE_S = 30
KAFKA_TIMEOUT_MS = 3000


def replay_group() -> str:
    """The consumer group whose committed DLQ offsets mark what was replayed (telemetry.services)."""
    return f"{settings.TELEMETRY_CONSUMER_GROUP}-dlq-replay"


def _backlog(consumer, *, topic: str, group_committed) -> tuple[int, list[dict[str, Any]]]:
    """Messages of ``topic`` past the committed offsets, in total and per partition."""
    from kafka import TopicPartition

    partitions = sorted(consumer.partitions_for_topic(topic) or [])
    tps = [TopicPartition(topic, p) for p in partitions]
    if not tps:
        return 0, []
    end = consumer.end_offsets(tps)
    beginning = consumer.beginning_offsets(tps)
    rows = []
    for tp in tps:
        committed = group_committed(tp)
        position = committed if committed is not None and committed >= 0 else beginning[tp]
        rows.append({"partition": tp.partition, "end": end[tp], "committed": committed, "backlog": max(end[tp] - position, 0)})
    return sum(r["backlog"] for r in rows), rows


def _group_consumer(group_id: str):
    from kafka import KafkaConsumer

    # Give up on an unreachable broker within seconds (the option's name depends on the
    # kafka-python version).
    bootstrap_limit = "bootstrap_timeout_ms" if "bootstrap_timeout_ms" in KafkaConsumer.DEFAULT_CONFIG else "api_version_auto_timeout_ms"
    # Never subscribes or polls: it only reads the group's committed offsets.
    return KafkaConsumer(
        bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS.split(","),
        group_id=group_id,
        enable_auto_commit=False,
        client_id="flywheel-dashboard",
        session_timeout_ms=KAFKA_TIMEOUT_MS, heartbeat_interval_ms=KAFKA_TIMEOUT_MS // 3,
        request_timeout_ms=KAFKA_TIMEOUT_MS + 2000,
        **{bootstrap_limit: KAFKA_TIMEOUT_MS},
    )


def kafka_status() -> dict[str, Any]:
    """Lag of the telemetry consumer group and unreplayed DLQ messages, read from Kafka."""
    main = _group_consumer(settings.TELEMETRY_CONSUMER_GROUP)
    try:
        lag, lag_partitions = _backlog(main, topic=settings.TELEMETRY_TOPIC, group_committed=main.committed)
    finally:
        main.close(autocommit=False)
    replay = _group_consumer(replay_group())
    try:
        dead, _ = _backlog(replay, topic=settings.TELEMETRY_DLQ_TOPIC, group_committed=replay.committed)
    finally:
        replay.close(autocommit=False)
    return {
        "mode": "kafka",
        "consumer_group": settings.TELEMETRY_CONSUMER_GROUP,
        "topic": settings.TELEMETRY_TOPIC,
        "dlq_topic": settings.TELEMETRY_DLQ_TOPIC,
        "consumer_lag": lag,
        "partitions": lag_partitions,
        "dead_letters": dead,
        "error": None,
    }


def embedded_status() -> dict[str, Any]:
    return {
        "mode": "embedded",
        "consumer_group": None,
        "topic": None,
        "dlq_topic": None,
        "consumer_lag": 0,
        "partitions": [],
        "dead_letters": DeadLetter.objects.filter(replayed_at__isnull=True).count(),
        "error": None,
    }


def pipeline_status(*, fresh: bool = False) -> dict[str, Any]:
    """Consumer lag and dead-letter count for the configured bus (Kafka cached ``CACHE_S``)."""
    if not settings.KAFKA_BOOTSTRAP_SERVERS:
        return embedded_status()
    if not fresh:
        cached = cache.get(CACHE_KEY)
        if cached is not None:
            return cached
    try:
        status = kafka_status()
    except Exception as exc:  # noqa: BLE001 - a broker outage is what this page must show, not a 500
        logger.warning("reading Kafka offsets failed: %s", exc)
        status = {
            "mode": "kafka", "consumer_group": settings.TELEMETRY_CONSUMER_GROUP, "topic": settings.TELEMETRY_TOPIC,
            "dlq_topic": settings.TELEMETRY_DLQ_TOPIC, "consumer_lag": None, "partitions": [], "dead_letters": None,
            "error": f"Kafka unreachable: {exc.__class__.__name__}: {exc}",
        }
    # An outage is remembered longer, so that pages do not each wait for the timeout.
    cache.set(CACHE_KEY, status, CACHE_S if status["error"] is None else ERROR_CACHE_S)
    return status


def pipeline_status_forget() -> None:
    """Drop the cached status (after a replay, so the page shows the new backlog)."""
    cache.delete(CACHE_KEY)
