"""Consumer lag and dead-letter backlog: embedded mode, and a real Kafka broker."""
from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from dashboard.pipeline import pipeline_status, replay_group
from telemetry.models import DeadLetter


@pytest.mark.django_db
def test_embedded_mode_has_no_lag_and_counts_unreplayed_dead_letters(settings):
    DeadLetter.objects.create(reason="undecodable", value=b"x")
    DeadLetter.objects.create(reason="undecodable", value=b"y")
    replayed = DeadLetter.objects.create(reason="undecodable", value=b"z")
    DeadLetter.objects.filter(pk=replayed.pk).update(replayed_at="2026-01-01T00:00:00Z")
    status = pipeline_status()
    assert status["mode"] == "embedded" and status["consumer_lag"] == 0 and status["dead_letters"] == 2


def test_unreachable_kafka_is_reported_not_raised(settings):
    cache.clear()
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"
    status = pipeline_status(fresh=True)
    assert status["mode"] == "kafka" and status["consumer_lag"] is None and status["dead_letters"] is None
    assert "Kafka unreachable" in status["error"]
    cache.clear()


@pytest.mark.integration
def test_kafka_lag_and_dead_letters_from_real_offsets(settings, service_urls):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.structs import OffsetAndMetadata

    bootstrap = service_urls["KAFKA_BOOTSTRAP_SERVERS"]
    suffix = uuid.uuid4().hex[:10]
    settings.KAFKA_BOOTSTRAP_SERVERS = bootstrap
    settings.TELEMETRY_TOPIC = topic = f"test.dashboard.{suffix}"
    settings.TELEMETRY_DLQ_TOPIC = dlq = f"test.dashboard.{suffix}.dlq"
    settings.TELEMETRY_CONSUMER_GROUP = group = f"test-dashboard-{suffix}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1), NewTopic(dlq, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","))
    for i in range(7):
        producer.send(topic, key=f"s{i}".encode(), value=b"{}")
    for i in range(3):
        producer.send(dlq, key=b"k", value=b"poison")
    producer.flush()
    producer.close()
    cache.clear()

    status = pipeline_status(fresh=True)
    assert status["error"] is None
    assert status["consumer_lag"] == 7 and status["dead_letters"] == 3
    assert sum(p["backlog"] for p in status["partitions"]) == 7 and len(status["partitions"]) == 3

    # The consumer group commits everything it has read: no lag. The replay group commits 2 of 3.
    def commit(group_id: str, offsets: dict) -> None:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=group_id, enable_auto_commit=False)
        try:
            consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
        finally:
            consumer.close(autocommit=False)

    reader = KafkaConsumer(bootstrap_servers=bootstrap.split(","))
    ends = reader.end_offsets([TopicPartition(topic, p) for p in range(3)])
    reader.close()
    commit(group, ends)
    commit(replay_group(), {TopicPartition(dlq, 0): 2})
    assert pipeline_status()["consumer_lag"] == 7  # cached for a few seconds
    status = pipeline_status(fresh=True)
    assert status["consumer_lag"] == 0 and status["dead_letters"] == 1
    cache.clear()
