"""The real local services answer, and survive the stop/start that fault tests inflict."""
from __future__ import annotations

import os
import time
import uuid
from urllib.parse import urlsplit

import psutil
import psycopg
import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer

from tests.services import service_start, service_stop

pytestmark = pytest.mark.integration


def _topic() -> str:
    return f"test.services.{uuid.uuid4().hex[:12]}"


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for value in values:
            producer.send(topic, key=b"k", value=value).get(timeout=60)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _consume(bootstrap: str, topic: str, *, expected: int, timeout_s: float = 60) -> list[bytes]:
    """Read ``topic`` from the beginning, as a fresh consumer group, until ``expected`` values."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}.reader",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(values) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                values.extend(record.value for record in records)
    finally:
        consumer.close()
    return values


def test_postgres_answers_and_allows_creating_databases(service_urls):
    with psycopg.connect(service_urls["DATABASE_URL"], connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT current_user, current_database(), rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == ("flywheel", "flywheel", True)


def test_redis_answers_on_both_databases(service_urls):
    for url in (service_urls["REDIS_URL"], service_urls["CELERY_BROKER_URL"]):
        client = redis.Redis.from_url(url, socket_timeout=5)
        assert client.ping() is True
        client.close()


def test_kafka_round_trip(service_urls):
    bootstrap, topic = service_urls["KAFKA_BOOTSTRAP_SERVERS"], _topic()
    sent = [f"message {i}".encode() for i in range(5)]
    _produce(bootstrap, topic, sent)
    assert _consume(bootstrap, topic, expected=len(sent)) == sent


def test_kafka_keeps_messages_across_stop_and_start(service_urls):
    bootstrap, topic = service_urls["KAFKA_BOOTSTRAP_SERVERS"], _topic()
    _produce(bootstrap, topic, [b"before restart"])
    service_stop("kafka")
    service_start("kafka")
    assert _consume(bootstrap, topic, expected=1) == [b"before restart"]


def test_postgres_keeps_rows_across_stop_and_start(service_urls):
    table = f"test_services_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(service_urls["DATABASE_URL"], autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (value text)")
        conn.execute(f"INSERT INTO {table} VALUES ('before restart')")
    service_stop("postgres")
    service_start("postgres")
    with psycopg.connect(service_urls["DATABASE_URL"], autocommit=True) as conn:
        assert conn.execute(f"SELECT value FROM {table}").fetchall() == [("before restart",)]
        conn.execute(f"DROP TABLE {table}")


def test_start_is_a_no_op_when_running(service_urls):
    started = time.monotonic()
    for name in ("postgres", "redis", "kafka"):
        service_start(name)
    assert time.monotonic() - started < 30


def _session_of_listener(port: int) -> int:
    """Session id of the process listening on 127.0.0.1:``port``."""
    [pid] = {c.pid for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    return os.getsid(pid)


def _session_members(sid: int) -> list[str]:
    members = []
    for process in psutil.process_iter(["pid", "name"]):
        try:
            if os.getsid(process.info["pid"]) == sid:
                members.append(f"{process.info['pid']} {process.info['name']}")
        except ProcessLookupError:
            pass
    return members


def test_ray_head_answers_the_jobs_api_and_comes_back_after_a_restart(service_urls):
    from ray.job_submission import JobSubmissionClient

    assert service_urls["RAY_ADDRESS"].startswith("http://127.0.0.1:")
    assert isinstance(JobSubmissionClient(service_urls["RAY_ADDRESS"]).list_jobs(), list)
    head_session = _session_of_listener(urlsplit(service_urls["RAY_ADDRESS"]).port)
    assert any("DashboardAgent" in member for member in _session_members(head_session))
    service_stop("ray")
    with pytest.raises(Exception):
        JobSubmissionClient(service_urls["RAY_ADDRESS"]).list_jobs()
    assert _session_members(head_session) == []  # the renamed agents too: they would hold the head's ports
    service_start("ray")
    assert isinstance(JobSubmissionClient(service_urls["RAY_ADDRESS"]).list_jobs(), list)
