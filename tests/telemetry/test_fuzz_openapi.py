"""Schema-driven fuzzing of the whole OpenAPI document (``/api/schema/``) with schemathesis.

Every operation the document lists is a test case of its own, generated from the document
itself, so an endpoint added later is fuzzed with no new test code. Each one is called
twice over: with an organization's API key and with a logged-in dashboard user's session
(CSRF token included), against an organization that holds real ingested telemetry.

Checks on every answer: never a 5xx; the status code is one the operation documents; the
Content-Type is one documented for that status. (Whether a schema-invalid event is refused
is checked per event in test_fuzz_endpoints.py: a batch answers 202 and lists it.)
"""
from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from telemetry.bus import reset_bus
from telemetry.models import Membership
from telemetry.services import api_key_create, events_ingest, organization_get_or_create
from telemetry.synthetic import burst

# Kept small: the suite runs every operation twice (two ways to authenticate).
MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
# OTLP's protobuf bodies are opaque bytes to the generator: send them as it sends octet-streams.
schemathesis.serializer.alias("application/x-protobuf", "application/octet-stream")
CSRF_TOKEN = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"  # any 32 letters: Django compares cookie and header


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker) -> Iterator[SimpleNamespace]:
    """An organization with real stored telemetry, its API key and a staff member's session.

    Built once per module inside a transaction rolled back at the end (each test runs in a
    savepoint within it), on the embedded in-process bus.
    """
    with django_db_blocker.unblock(), override_settings(
        KAFKA_BOOTSTRAP_SERVERS="", TELEMETRY_INGEST_RATE="1000000/minute",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    ):
        reset_bus()
        with transaction.atomic():
            org = organization_get_or_create(slug="fuzz-openapi")
            events = burst(seed=7, sessions=12, versions={"fuzz-v1": 0.4, "fuzz-v2": 0.7})
            for start in range(0, len(events), 500):
                events_ingest(org=org, events=events[start:start + 500])
            user = User.objects.create_user("fuzzer", password="unused", is_staff=True)
            Membership.objects.create(user=user, org=org)
            browser = Client()
            browser.force_login(user)
            yield SimpleNamespace(
                org=org,
                api_key=api_key_create(org=org, name="fuzz"),
                session_id=browser.cookies["sessionid"].value,
            )
            transaction.set_rollback(True)
        reset_bus()


def _openapi_document() -> schemathesis.BaseSchema:
    """The app's own OpenAPI document, loaded from the app, with calls served by the app (WSGI).

    Loaded when the module is collected, so that each operation is a test item of its own.
    """
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    # Credentials come from the test, not from the generator.
    loaded.config.generation.update(max_examples=MAX_EXAMPLES, with_security_parameters=False)
    # The coverage phase enumerates every boundary case of every schema, unbounded by
    # max_examples: for the event batch schema that alone took many minutes. Schema
    # examples and bounded fuzzing (valid and invalid inputs) remain.
    loaded.config.phases.update(phases=["examples", "fuzzing"])
    return loaded


schema = _openapi_document()


@pytest.fixture(autouse=True)
def app_in_test_transaction(fuzz_world, db, settings) -> Iterator[None]:
    settings.TELEMETRY_INGEST_RATE = "1000000/minute"  # fuzz the handlers, not the throttle
    # As django.test.Client does: the test's transaction must survive each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ
def test_every_operation_with_an_api_key(case, fuzz_world):
    case.call_and_validate(checks=CHECKS, headers={"Authorization": f"Bearer {fuzz_world.api_key}"})


@schema.parametrize()
@FUZZ
def test_every_operation_with_a_dashboard_session(case, fuzz_world):
    case.call_and_validate(
        checks=CHECKS,
        headers={"X-CSRFToken": CSRF_TOKEN},
        cookies={"sessionid": fuzz_world.session_id, "csrftoken": CSRF_TOKEN},
    )


def test_the_document_lists_the_ingestion_and_metrics_operations():
    """The fuzzing above is only as wide as the document: the core endpoints must be in it."""
    operations = {(op.method.upper(), op.path) for op in (result.ok() for result in schema.get_all_operations())}
    for expected in [("POST", "/api/v1/events"), ("GET", "/api/v1/metrics/summary"), ("POST", "/v1/logs"),
                     ("POST", "/v1/metrics"), ("GET", "/api/schema/events-v1.json")]:
        assert expected in operations
