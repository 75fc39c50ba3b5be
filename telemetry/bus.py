"""The event bus: Apache Kafka when KAFKA_BOOTSTRAP_SERVERS is set, else in-process.

Both implementations take the same ``BusMessage`` bytes; the in-process bus hands them
straight to ``messages_store``, the handler the Kafka consumer calls, so the embedded
default runs the same code minus the hop.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from telemetry.messages import BusMessage
from telemetry.store import DeadLetterItem, messages_store

logger = logging.getLogger("flywheel.telemetry.bus")

# An HTTP client waits for the ack, so a broker outage becomes a 503 within this bound.
PUBLISH_TIMEOUT_S = 20.0


class BusUnavailable(RuntimeError):
    """The broker did not acknowledge every message; the caller must not report them accepted."""


class EventBus(Protocol):
    def publish(self, messages: Sequence[BusMessage]) -> None: ...

    def dead_letter(self, items: Sequence[DeadLetterItem]) -> None: ...

    def close(self) -> None: ...


class InProcessBus:
    """Embedded default: stores synchronously, dead letters go to the DeadLetter table."""

    def publish(self, messages: Sequence[BusMessage]) -> None:
        result = messages_store(messages=[(m.key, m.value) for m in messages])
        self.dead_letter(result.dead_letters)

    def dead_letter(self, items: Sequence[DeadLetterItem]) -> None:
        from telemetry.models import DeadLetter

        DeadLetter.objects.bulk_create(
            [DeadLetter(reason=i.reason, detail=i.detail, key=i.key, value=i.value) for i in items]
        )

    def close(self) -> None:
        pass


def kafka_producer(bootstrap_servers: str):
    """A producer that only reports success once every in-sync replica has the message."""
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap_servers.split(","),
        acks="all",
        compression_type=settings.TELEMETRY_COMPRESSION or None,
        linger_ms=5,
        batch_size=512 * 1024,
        max_request_size=8 * 1024 * 1024,
        retries=5,
        retry_backoff_ms=200,
        request_timeout_ms=5_000,
        delivery_timeout_ms=int(PUBLISH_TIMEOUT_S * 1000) - 5_000,
        max_block_ms=10_000,
        enable_idempotence=True,
        client_id="flywheel-ingest",
    )


class KafkaBus:
    """Produces to ``TELEMETRY_TOPIC`` keyed by session id, waiting for the broker's acks."""

    def __init__(self, bootstrap_servers: str, topic: str, dlq_topic: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.dlq_topic = dlq_topic
        self._producer = None
        self._lock = threading.Lock()

    def _get_producer(self):
        with self._lock:
            if self._producer is None:
                self._producer = kafka_producer(self.bootstrap_servers)
            return self._producer

    def send_batch(self, topic: str, sends: Sequence[tuple[str, bytes, list]]) -> None:
        from kafka.errors import KafkaError

        try:
            producer = self._get_producer()
            futures = [producer.send(topic, key=key.encode(), value=value, headers=headers) for key, value, headers in sends]
            # Wait for these records only: flush() would also wait for every other request
            # thread's records. Within linger_ms, concurrent requests share produce requests.
            deadline = time.monotonic() + PUBLISH_TIMEOUT_S
            for future in futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except KafkaError as exc:
            self._reset_after_failure()
            raise BusUnavailable(f"Kafka did not acknowledge the batch: {exc}") from exc

    def _reset_after_failure(self) -> None:
        # A producer stuck on a dead connection is dropped; the next call builds a new one.
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception:  # noqa: BLE001 - closing a broken producer must not mask the real error
                logger.warning("closing a failed Kafka producer raised", exc_info=True)

    def publish(self, messages: Sequence[BusMessage]) -> None:
        self.send_batch(self.topic, [(m.key, m.value, []) for m in messages])

    def dead_letter(self, items: Sequence[DeadLetterItem]) -> None:
        now = timezone.now().isoformat().encode()
        self.send_batch(
            self.dlq_topic,
            [
                (i.key, i.value, [("reason", i.reason.encode()), ("detail", i.detail[:1000].encode()), ("failed_at", now)])
                for i in items
            ],
        )

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None


_bus: EventBus | None = None
_bus_lock = threading.Lock()


def get_bus() -> EventBus:
    """The process-wide bus for the current settings."""
    global _bus
    with _bus_lock:
        if _bus is None:
            if settings.KAFKA_BOOTSTRAP_SERVERS:
                _bus = KafkaBus(settings.KAFKA_BOOTSTRAP_SERVERS, settings.TELEMETRY_TOPIC, settings.TELEMETRY_DLQ_TOPIC)
            else:
                _bus = InProcessBus()
        return _bus


def reset_bus() -> None:
    """Drop the cached bus (settings changed, e.g. in tests)."""
    global _bus
    with _bus_lock:
        if _bus is not None:
            _bus.close()
        _bus = None
