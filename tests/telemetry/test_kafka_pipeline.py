"""HTTP → real Kafka → consumer process → real PostgreSQL."""
from __future__ import annotations

import json
import signal
from datetime import datetime, timezone

import pytest
from kafka import KafkaConsumer, KafkaProducer

from telemetry.messages import message_encode
from telemetry.models import Event, HourlyRollup
from telemetry.selectors import metrics_summary
from telemetry.services import dead_letters_replay, organization_get_or_create
from telemetry.synthetic import burst
from tests.factories import api_client_for, make_event
from tests.telemetry.conftest import wait_until
from tests.telemetry.ground_truth import ground_truth

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def org():
    return organization_get_or_create(slug="acme")


def post(api, events):
    return api.post("/api/v1/events", data=json.dumps({"events": events}), content_type="application/json")


def test_events_flow_from_http_through_kafka_into_postgres(org, consumer):
    consumer.start()
    api = api_client_for(org)
    events = burst(seed=11, sessions=40, versions={"v1": 0.3, "v2": 0.8})
    for start in range(0, len(events), 500):
        response = post(api, events[start:start + 500])
        assert response.status_code == 202, response.content
    wait_until(lambda: Event.objects.count() == len(events), timeout=60, message=lambda: f"{len(events)} events stored\n{consumer.log()}")
    truth = ground_truth(events)
    for row in metrics_summary(org=org):
        expected = truth[row["model_version"]]
        assert row["events"] == expected["events"]
        assert row["tool_call_error_rate"] == pytest.approx(expected["tool_call_error_rate"])
        assert row["tokens_per_task"] == pytest.approx(expected["tokens_per_task"])
        assert row["code_retention"]["5m"] == pytest.approx(expected["code_retention"]["5m"])


def test_messages_are_keyed_by_session_and_compressed(org, kafka_topics):
    api = api_client_for(org)
    events = burst(seed=2, sessions=3, versions={"v1": 0.5})
    assert post(api, events).status_code == 202
    reader = KafkaConsumer(kafka_topics["TELEMETRY_TOPIC"], bootstrap_servers=kafka_topics["KAFKA_BOOTSTRAP_SERVERS"],
                           auto_offset_reset="earliest", consumer_timeout_ms=5000)
    records = list(reader)
    reader.close()
    # One record per session of the request, holding that session's events in order.
    sessions = list(dict.fromkeys(e["session_id"] for e in events))
    assert len(records) == len(sessions) == 3
    carried: dict[str, list[str]] = {}
    partitions_by_session: dict[str, set[int]] = {}
    for record in records:
        body = json.loads(record.value)
        assert {e["session_id"] for e in body["events"]} == {record.key.decode()}
        carried.setdefault(record.key.decode(), []).extend(e["event_id"] for e in body["events"])
        partitions_by_session.setdefault(record.key.decode(), set()).add(record.partition)
    assert all(len(p) == 1 for p in partitions_by_session.values())
    assert carried == {s: [e["event_id"] for e in events if e["session_id"] == s] for s in sessions}


def test_one_bad_event_of_a_record_is_dead_lettered_alone(org, kafka_topics, consumer):
    """A record carries several events; the consumer stores, dedups and dead-letters each on its own."""
    from telemetry.messages import messages_encode

    consumer.start()
    now = datetime.now(timezone.utc)
    good = [make_event(session_id="s-1") for _ in range(4)]
    bad = make_event(session_id="s-1")
    bad["ts"] = "not a time"
    [record] = messages_encode(org_id=org.id, received_at=now, events=[good[0], good[1], bad, good[2], good[3], good[0]])
    producer = KafkaProducer(bootstrap_servers=kafka_topics["KAFKA_BOOTSTRAP_SERVERS"])
    producer.send(kafka_topics["TELEMETRY_TOPIC"], key=record.key.encode(), value=record.value)
    producer.flush()
    producer.close()
    wait_until(lambda: Event.objects.count() == 4, timeout=60, message=lambda: f"the four good events stored\n{consumer.log()}")
    dlq = KafkaConsumer(kafka_topics["TELEMETRY_DLQ_TOPIC"], bootstrap_servers=kafka_topics["KAFKA_BOOTSTRAP_SERVERS"],
                        auto_offset_reset="earliest", consumer_timeout_ms=10000)
    dead = next(iter(dlq))
    dlq.close()
    assert dict(dead.headers)["reason"] == b"invalid_message"
    assert [e["event_id"] for e in json.loads(dead.value)["events"]] == [bad["event_id"]]
    assert sum(HourlyRollup.objects.values_list("events", flat=True)) == 4  # the repeated event counted once


def test_poison_messages_go_to_the_dlq_with_reasons_and_replay(org, kafka_topics, consumer):
    consumer.start()
    producer = KafkaProducer(bootstrap_servers=kafka_topics["KAFKA_BOOTSTRAP_SERVERS"])

    good = message_encode(org_id=org.id, received_at=datetime.now(timezone.utc), event=make_event())
    orphan = message_encode(org_id=org.id + 1000, received_at=datetime.now(timezone.utc), event=make_event())
    for key, value in [(b"k1", b"\x00garbage"), (good.key.encode(), good.value), (orphan.key.encode(), orphan.value)]:
        producer.send(kafka_topics["TELEMETRY_TOPIC"], key=key, value=value)
    producer.flush()
    producer.close()
    wait_until(lambda: Event.objects.count() == 1, timeout=60, message="the good message stored")
    dlq = KafkaConsumer(kafka_topics["TELEMETRY_DLQ_TOPIC"], bootstrap_servers=kafka_topics["KAFKA_BOOTSTRAP_SERVERS"],
                        auto_offset_reset="earliest", consumer_timeout_ms=10000)
    dead = []
    for record in dlq:
        dead.append(record)
        if len(dead) == 2:
            break
    dlq.close()
    reasons = sorted(dict(r.headers)["reason"].decode() for r in dead)
    assert reasons == ["undecodable", "unknown_org"]
    # Fix the cause (the org now exists), then replay: the orphan is stored, the garbage dead-letters again.
    type(org).objects.create(id=org.id + 1000, slug="late-org", name="late")
    assert dead_letters_replay() == 2
    wait_until(lambda: Event.objects.count() == 2, timeout=60, message="replayed message stored")
    assert dead_letters_replay() == 1  # only the garbage came back; the replay group remembers the rest


def test_consumer_stops_cleanly_on_sigterm(org, consumer):
    consumer.start()
    wait_until(lambda: "Consuming" in consumer.log(), timeout=30, message="consumer started")
    assert consumer.signal(signal.SIGTERM) == 0
    assert "Stopped cleanly" in consumer.log()


def test_rollups_count_each_event_once_across_two_consumers(org, kafka_topics, consumer, tmp_path):
    """Two group members share the partitions; every event lands once."""
    from tests.telemetry.conftest import ConsumerProcess

    second = ConsumerProcess(consumer.env, tmp_path / "second.log")
    consumer.start()
    second.start()
    try:
        events = burst(seed=5, sessions=40, versions={"v1": 0.5})
        api = api_client_for(org)
        for start in range(0, len(events), 400):
            assert post(api, events[start:start + 400]).status_code == 202
        wait_until(lambda: Event.objects.count() == len(events), timeout=90, message="all events stored")
        assert sum(HourlyRollup.objects.values_list("events", flat=True)) == len(events)
    finally:
        second.stop()
