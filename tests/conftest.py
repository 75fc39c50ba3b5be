"""Project-wide fixtures."""
from __future__ import annotations

import os

import pytest

from tests.services import SERVICE_ENV_VARS


@pytest.fixture(scope="session")
def service_urls() -> dict[str, str]:
    """The real services' connection settings, as exported by ``make test``.

    Fails (never skips) when they are missing: the integration tests must run for real.
    """
    missing = [name for name in SERVICE_ENV_VARS if not os.environ.get(name)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not set. Run `make test`, or `make services-up` and then "
            '`eval "$(scripts/services.sh env)"` before pytest.',
            pytrace=False,
        )
    return {name: os.environ[name] for name in SERVICE_ENV_VARS}


@pytest.fixture(autouse=True)
def embedded_defaults(settings):
    """Tests store through the in-process bus and run Celery tasks eagerly, unless they ask
    for the real thing (``kafka_topics``, ``celery_worker``).

    ``make test`` exports KAFKA_BOOTSTRAP_SERVERS and CELERY_BROKER_URL for those tests;
    every other test expects ``events_ingest`` (and a dispatched task) to be done when it returns.
    """
    from config.celery import app as celery_app
    from telemetry.bus import reset_bus

    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    reset_bus()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = eager
    reset_bus()
