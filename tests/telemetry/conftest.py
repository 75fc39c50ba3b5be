"""Fixtures for the real Kafka + PostgreSQL pipeline (started by scripts/services.sh)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.server_process import free_port, server_process
from telemetry.bus import reset_bus

REPO = Path(__file__).resolve().parents[2]


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite with `make test`, which starts the services and exports it.")
    return value


def wait_until(predicate: Callable[[], bool], *, timeout: float, message: str | Callable[[], str], interval: float = 0.2) -> None:
    """Poll ``predicate``; on timeout fail with ``message`` (a callable is evaluated then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s: {message() if callable(message) else message}")


@pytest.fixture
def kafka_topics(settings) -> Iterator[dict[str, str]]:
    """Route the app's bus to the real broker, on topics of this test's own."""
    bootstrap = require_env("KAFKA_BOOTSTRAP_SERVERS")
    if connection.vendor != "postgresql":
        pytest.fail("the Kafka pipeline tests need PostgreSQL: set DATABASE_URL (make test does).")
    suffix = uuid.uuid4().hex[:10]
    topics = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "TELEMETRY_TOPIC": f"test.telemetry.{suffix}",
        "TELEMETRY_DLQ_TOPIC": f"test.telemetry.{suffix}.dlq",
        "TELEMETRY_CONSUMER_GROUP": f"test-group-{suffix}",
    }
    for name, value in topics.items():
        setattr(settings, name, value)
    _topics_create(bootstrap, [topics["TELEMETRY_TOPIC"], topics["TELEMETRY_DLQ_TOPIC"]])
    reset_bus()
    yield topics
    reset_bus()


def _topics_create(bootstrap: str, names: list[str], partitions: int = 4) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names])
    finally:
        admin.close()


class ConsumerProcess:
    """``manage.py consume_telemetry`` in a subprocess, against this test's database and topics."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, *args: str) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "manage.py"), "consume_telemetry", *args],
            cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )

    def signal(self, signum: int) -> int:
        assert self.process is not None
        self.process.send_signal(signum)
        return self.process.wait(timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def consumer(kafka_topics, tmp_path) -> Iterator[ConsumerProcess]:
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        **kafka_topics,
        "DATABASE_URL": f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PYTHONUNBUFFERED": "1",
    }
    process = ConsumerProcess(env, tmp_path / "consumer.log")
    yield process
    process.stop()


# ---------------------------------------------------------------- the app served for real


@pytest.fixture(scope="session")
def embedded_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The embedded default's server (``telemetry.local_app``) in this process, on the test database."""
    from telemetry.local_app import local_app_server

    with django_db_blocker.unblock(), local_app_server() as url:
        yield url


@pytest.fixture(scope="session")
def gunicorn_server(django_db_setup, tmp_path_factory) -> Iterator[str]:
    """The production server, ``scripts/serve.sh`` (gunicorn), on the test database.

    Its bus is the in-process one (no KAFKA_BOOTSTRAP_SERVERS), so an answered request is stored.
    """
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("the gunicorn tests need PostgreSQL: set DATABASE_URL (make test does).")
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "FLYWHEEL_PYTHON": sys.executable,
        "FLYWHEEL_BIND": f"127.0.0.1:{port}",
        "FLYWHEEL_WORKERS": "1",
        "FLYWHEEL_THREADS": "4",
        "FLYWHEEL_ACCESS_LOG": "",
    }
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "CELERY_BROKER_URL"):
        env.pop(name, None)
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    url = f"http://127.0.0.1:{port}"
    with server_process(["bash", str(REPO / "scripts" / "serve.sh")], cwd=REPO, env=env, log_path=log_path,
                        ready_url=f"{url}/api/schema/events-v1.json", timeout_s=60):
        yield url
