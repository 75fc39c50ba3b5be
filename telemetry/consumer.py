"""The Kafka consumer loop behind ``manage.py consume_telemetry``.

Contract: offsets are committed only after the batch's database transaction commits, so
a crash at any point redelivers, and the idempotent store turns redelivery into a no-op.
Poison messages go to the dead-letter topic before the commit. When the database is
away the same batch is retried with backoff until it is back; nothing is skipped.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django import db

from telemetry.bus import BusUnavailable, KafkaBus
from telemetry.store import StoreResult, messages_store

logger = logging.getLogger("flywheel.telemetry.consumer")


@dataclass(frozen=True)
class ConsumerConfig:
    bootstrap_servers: str
    """Comma-separated Kafka bootstrap servers."""
    topic: str
    """Topic of normalized telemetry events."""
    dlq_topic: str
    """Where poison messages go, with reason headers."""
    group_id: str
    """Consumer group; partitions are shared among its members."""
    max_records: int = 1000
    """Largest batch handed to one database transaction."""
    poll_timeout_ms: int = 500
    """How long one poll waits for records."""
    db_retry_initial_s: float = 0.5
    """First wait after a database error; doubles up to ``db_retry_max_s``."""
    db_retry_max_s: float = 10.0


def kafka_consumer(config: ConsumerConfig):
    from kafka import KafkaConsumer

    return KafkaConsumer(
        config.topic,
        bootstrap_servers=config.bootstrap_servers.split(","),
        group_id=config.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=config.max_records,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        client_id="flywheel-consumer",
    )


def batch_store_with_retry(messages: list[tuple[str, bytes]], *, config: ConsumerConfig, stop: threading.Event) -> StoreResult | None:
    """Store one batch, waiting out database outages. None if asked to stop while waiting."""
    wait = config.db_retry_initial_s
    while True:
        try:
            return messages_store(messages=messages)
        except (db.OperationalError, db.InterfaceError) as exc:
            logger.warning("database unavailable (%s); retrying the batch in %.1fs", exc.__class__.__name__, wait)
            db.connections.close_all()
            if stop.wait(wait):
                return None
            wait = min(wait * 2, config.db_retry_max_s)


def dead_letters_send_with_retry(bus: KafkaBus, result: StoreResult, *, config: ConsumerConfig, stop: threading.Event) -> bool:
    """Write the batch's dead letters before its offsets are committed; False if stopped first."""
    wait = config.db_retry_initial_s
    while True:
        try:
            bus.dead_letter(result.dead_letters)
            return True
        except BusUnavailable as exc:
            logger.warning("dead-letter topic unavailable (%s); retrying in %.1fs", exc, wait)
            if stop.wait(wait):
                return False
            wait = min(wait * 2, config.db_retry_max_s)


def consume(
    config: ConsumerConfig,
    *,
    stop: threading.Event,
    on_batch: Callable[[StoreResult], None] | None = None,
) -> None:
    """Poll, store, dead-letter, commit; until ``stop`` is set. Finishes the batch in hand."""
    from kafka.errors import CommitFailedError, KafkaError

    consumer = kafka_consumer(config)
    dead_letters = KafkaBus(config.bootstrap_servers, config.topic, config.dlq_topic)
    try:
        while not stop.is_set():
            polled = consumer.poll(timeout_ms=config.poll_timeout_ms, max_records=config.max_records)
            messages = [
                ((record.key or b"").decode(errors="replace"), record.value)
                for records in polled.values()
                for record in records
            ]
            if not messages:
                continue
            result = batch_store_with_retry(messages, config=config, stop=stop)
            if result is None:
                break  # stopping while the database is away: leave the batch uncommitted
            if result.dead_letters and not dead_letters_send_with_retry(dead_letters, result, config=config, stop=stop):
                break  # stopping while the broker is away: the batch stays uncommitted
            try:
                consumer.commit()
            except (CommitFailedError, KafkaError) as exc:
                # A rebalance or a broker outage: the batch is stored but its offsets are not;
                # whoever polls these partitions next redelivers it and the store dedups.
                logger.warning("offset commit failed (%s); the batch will be redelivered", exc)
            if on_batch is not None:
                on_batch(result)
    finally:
        dead_letters.close()
        consumer.close(autocommit=False)


def dead_letters_replay_kafka(config: ConsumerConfig, *, replay_group: str, timeout_s: float = 60.0) -> int:
    """Re-publish the DLQ messages present now to the main topic; return how many.

    Only offsets below the end offsets taken at the start are replayed: a message that
    fails again comes back to the DLQ after them and waits for the next replay, instead of
    looping. The replay group's committed offsets mark what was replayed, so a second run
    replays nothing twice.
    """
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(
        bootstrap_servers=config.bootstrap_servers.split(","),
        group_id=replay_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="flywheel-dlq-replay",
    )
    bus = KafkaBus(config.bootstrap_servers, config.topic, config.dlq_topic)
    replayed = 0
    try:
        partitions = [TopicPartition(config.dlq_topic, p) for p in sorted(consumer.partitions_for_topic(config.dlq_topic) or [])]
        if not partitions:
            return 0
        consumer.assign(partitions)
        end = consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"DLQ replay did not reach the end offsets within {timeout_s:.0f}s")
            polled = consumer.poll(timeout_ms=500)
            batch = [(tp, r) for tp, records in polled.items() for r in records if r.offset < end[tp]]
            if not batch:
                continue
            bus.send_batch(config.topic, [((r.key or b"").decode(), r.value, [("replayed_from", b"dlq")]) for _, r in batch])
            last: dict = {}
            for tp, record in batch:
                last[tp] = max(last.get(tp, -1), record.offset)
            consumer.commit({tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in last.items()})
            for tp, offset in last.items():
                if offset + 1 >= end[tp]:
                    consumer.pause(tp)  # reached the snapshot; later records wait for the next replay
            replayed += len(batch)
    finally:
        bus.close()
        consumer.close(autocommit=False)
    return replayed
