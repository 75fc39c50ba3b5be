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
from typing import TypeVar
from dataclasses import dataclass

from django import db

from telemetry.bus import BusUnavailable, KafkaBus
from telemetry.store import StoreResult, messages_store

logger = logging.getLogger("flywheel.telemetry.consumer")
T = TypeVar("T")


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
    """First wait after a database (or dead-letter topic) error; doubles up to ``db_retry_max_s``."""
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


_STOPPED = object()


def retry_until_done(action: Callable[[], T], *, retry_on: tuple[type[Exception], ...], what: str,
                     config: ConsumerConfig, stop: threading.Event, on_failure: Callable[[], None] | None = None):
    """Run ``action`` until it succeeds, with exponential backoff on ``retry_on`` errors.

    Returns the action's result, or ``_STOPPED`` if ``stop`` was set while waiting: the
    caller then leaves the batch uncommitted, so nothing is lost.
    """
    wait = config.db_retry_initial_s
    while True:
        try:
            return action()
        except retry_on as exc:
            logger.warning("%s unavailable (%s: %s); retrying in %.1fs", what, type(exc).__name__, exc, wait)
            if on_failure is not None:
                on_failure()
            if stop.wait(wait):
                return _STOPPED
            wait = min(wait * 2, config.db_retry_max_s)


def consume(
    config: ConsumerConfig,
    *,
    stop: threading.Event,
    on_batch: Callable[[StoreResult], None] | None = None,
) -> None:
    """Poll, store, dead-letter, commit; until ``stop`` is set. Finishes the batch in hand."""
    from kafka.errors import CommitFailedError, KafkaError

    # A broker that is away at start-up (restarting, not yet up) is waited for, as later outages are.
    consumer = retry_until_done(lambda: kafka_consumer(config), retry_on=(KafkaError,), what="Kafka", config=config, stop=stop)
    if consumer is _STOPPED:
        return
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
            result = retry_until_done(
                lambda: messages_store(messages=messages), retry_on=(db.OperationalError, db.InterfaceError),
                what="database", config=config, stop=stop, on_failure=db.connections.close_all,
            )
            if result is _STOPPED:
                break
            # Dead letters are written before the offsets are committed, or they could be lost.
            if result.dead_letters and retry_until_done(
                lambda: dead_letters.dead_letter(result.dead_letters), retry_on=(BusUnavailable,),
                what="dead-letter topic", config=config, stop=stop,
            ) is _STOPPED:
                break
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
