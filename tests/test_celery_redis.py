"""Celery on the real Redis broker: a worker process runs a task the app dispatches."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache, caches

from config.celery import app as celery_app
from dashboard.tasks import dead_letters_replay_task
from telemetry.messages import message_encode
from telemetry.models import DeadLetter, Event
from telemetry.services import organization_get_or_create
from tests.factories import make_event

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def celery_worker(service_urls, tmp_path):
    """A real ``celery worker`` on the Redis broker, against this test's database."""
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}  # the embedded bus: no consumer here
    env["DATABASE_URL"] = f"postgresql://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    celery_app.conf.task_always_eager = False
    yield tmp_path / "worker.log"
    worker.terminate()
    worker.wait(timeout=30)


def test_a_dispatched_task_runs_on_a_worker_over_redis(celery_worker):
    assert celery_app.conf.broker_url.startswith("redis://")
    org = organization_get_or_create(slug="acme")
    message = message_encode(org_id=org.id, received_at=datetime.now(timezone.utc), event=make_event())
    DeadLetter.objects.create(reason="unknown_org", key=message.key, value=message.value)
    result = dead_letters_replay_task.delay()
    assert result.get(timeout=90) == 1, celery_worker.read_text(errors="replace")
    assert Event.objects.filter(org=org).count() == 1
    assert DeadLetter.objects.get().replayed_at is not None


def test_rate_limits_live_in_redis(service_urls):
    """The per-key throttle shares its counters through the Redis cache, across processes."""
    from django.core.cache.backends.redis import RedisCache

    assert isinstance(caches["default"], RedisCache)
    cache.set("flywheel:test:shared", 41)
    script = "import redis,sys; r=redis.Redis.from_url(sys.argv[1]); print(len(r.keys('*flywheel:test:shared*')))"
    found = subprocess.run([sys.executable, "-c", script, service_urls["REDIS_URL"]], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "1"
    assert cache.incr("flywheel:test:shared") == 42
