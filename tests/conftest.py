"""Project-wide fixtures."""
from __future__ import annotations

import os
import sys

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


_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process with the session's status once every result and the summary are out.

    The project's in-process servers join their request threads on close
    (``training.serving.request_threads``), but pytest-django's ``live_server`` runs Django's
    own ``LiveServerThread``, whose daemon request threads can still run when the interpreter
    finalizes. One that frees torch tensors then is cut off inside a C++ destructor, and Ray's
    terminate handler aborts the process: a suite that passed would exit non-zero. Skipping
    finalization avoids that race.
    """
    status = config.stash.get(_EXIT_STATUS, None)
    if status is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

