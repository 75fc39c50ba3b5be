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
def embedded_bus_by_default(settings):
    """Tests store through the in-process bus unless they ask for Kafka (``kafka_topics``).

    ``make test`` exports KAFKA_BOOTSTRAP_SERVERS for the Kafka tests; every other test
    expects ``events_ingest`` to have stored its events when it returns.
    """
    from telemetry.bus import reset_bus

    settings.KAFKA_BOOTSTRAP_SERVERS = ""
    reset_bus()
    yield
    reset_bus()
