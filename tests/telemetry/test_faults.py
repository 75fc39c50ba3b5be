"""Faults lose nothing and duplicate nothing: a killed consumer, a restarted broker, a database away.

These stop and start the real services through scripts/services.sh.
"""
from __future__ import annotations

import json
import signal
import threading
import time
from datetime import datetime, timezone

import pytest
from django.db import connections
from django.db.models import Sum

from telemetry.bus import get_bus
from telemetry.messages import messages_encode
from telemetry.models import Event, HourlyRollup
from telemetry.services import event_normalize, organization_get_or_create
from telemetry.synthetic import burst
from tests.factories import api_client_for
from tests.services import service_restart, service_start, service_stop
from tests.telemetry.conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def org():
    return organization_get_or_create(slug="acme")


def publish_directly(org, events, chunk: int = 2000) -> None:
    """Publish as the ingest API would, minus HTTP (so the broker is the only moving part)."""
    received = datetime.now(timezone.utc)
    events = [event_normalize(org=org, event=e) for e in events]
    bus = get_bus()
    for start in range(0, len(events), chunk):
        bus.publish(messages_encode(org_id=org.id, received_at=received, events=events[start:start + chunk]))


def stored_exactly_once(org, expected: int) -> None:
    assert Event.objects.filter(org=org).count() == expected
    assert HourlyRollup.objects.filter(org=org).aggregate(n=Sum("events"))["n"] == expected


def test_consumer_killed_mid_stream_then_restarted_stores_every_event_once(org, kafka_topics, consumer):
    events = burst(seed=21, sessions=500, versions={"v1": 0.4, "v2": 0.7})
    publish_directly(org, events)
    consumer.start("--max-records", "200")
    wait_until(lambda: Event.objects.count() > len(events) // 4, timeout=120, message=lambda: f"a quarter stored\n{consumer.log()}")
    assert consumer.signal(signal.SIGKILL) == -signal.SIGKILL
    killed_at = Event.objects.count()
    assert killed_at < len(events), "the kill must land mid-stream"
    consumer.start("--max-records", "200")
    wait_until(lambda: Event.objects.count() == len(events), timeout=180, message=lambda: f"all stored after restart\n{consumer.log()}")
    time.sleep(2)  # anything redelivered after the kill has had time to arrive
    stored_exactly_once(org, len(events))


def endless_batches(*, seed: int, size: int):
    """Batches of fresh events for as long as asked: a restart takes what it takes."""
    while True:
        events = burst(seed=seed, sessions=100, versions={"v1": 0.5})
        yield from (events[i:i + size] for i in range(0, len(events), size))
        seed += 1


def test_broker_restarted_during_a_load_loses_nothing(org, kafka_topics, consumer):
    """Batches keep coming before, during and after a broker restart; each 202 must be stored."""
    consumer.start()
    api = api_client_for(org)
    batches = endless_batches(seed=22, size=200)
    restart = threading.Thread(target=service_restart, args=("kafka",))
    accepted: list[dict] = []
    unavailable = 0
    batches_after_restart = 0
    while batches_after_restart < 3:
        batch = next(batches)
        # The restart starts once the consumer is storing, so it meets the consumer mid-stream.
        if len(accepted) >= 600 and restart.ident is None and Event.objects.exists():
            restart.start()
        deadline = time.monotonic() + 180
        while True:
            response = api.post("/api/v1/events", data=json.dumps({"events": batch}), content_type="application/json")
            if response.status_code == 202:
                break
            assert response.status_code == 503, response.content
            assert int(response["Retry-After"]) > 0
            unavailable += 1
            assert time.monotonic() < deadline, "the broker did not come back"
            time.sleep(0.5)
        accepted.extend(batch)
        if restart.ident is not None and not restart.is_alive():
            batches_after_restart += 1
    restart.join()
    wait_until(lambda: Event.objects.count() == len(accepted), timeout=180, message=lambda: f"all stored\n{consumer.log()}")
    time.sleep(2)
    stored_exactly_once(org, len(accepted))


def test_database_away_then_back_consumer_catches_up(org, kafka_topics, consumer):
    consumer.start()
    first = burst(seed=23, sessions=20, versions={"v1": 0.5})
    publish_directly(org, first)
    wait_until(lambda: Event.objects.count() == len(first), timeout=60, message="first burst stored")
    connections.close_all()
    service_stop("postgres")
    try:
        second = burst(seed=24, sessions=100, versions={"v1": 0.5})
        publish_directly(org, second)  # Kafka keeps accepting while the database is away
        time.sleep(6)
        assert consumer.process.poll() is None, f"the consumer must wait, not die\n{consumer.log()}"
    finally:
        service_start("postgres")
    total = len(first) + len(second)
    wait_until(lambda: Event.objects.count() == total, timeout=120, message=lambda: f"caught up\n{consumer.log()}")
    assert "database unavailable" in consumer.log()
    stored_exactly_once(org, total)
