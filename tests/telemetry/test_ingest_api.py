"""The JSON ingestion endpoint on whatever bus and database the settings select."""
from __future__ import annotations

import gzip
import json

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from telemetry.models import Event, HourlyRollup, RejectionRollup
from telemetry.services import api_key_create, organization_get_or_create
from tests.factories import api_client_for, make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return organization_get_or_create(slug="acme")


@pytest.fixture
def client(org):
    api = api_client_for(org)
    return api


def post_events(client, events, **extra):
    return client.post("/api/v1/events", data=json.dumps({"events": events}), content_type="application/json", **extra)


def test_valid_batch_is_accepted_and_stored(client, org):
    events = [make_event("tool.call"), make_event("llm.usage"), make_event("suggestion.accepted")]
    response = post_events(client, events)
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 3, "rejected": []}
    assert Event.objects.filter(org=org).count() == 3
    assert sum(HourlyRollup.objects.filter(org=org).values_list("events", flat=True)) == 3


def test_one_bad_event_does_not_sink_the_good_ones(client, org):
    bad = make_event("code.retention", payload={"suggestion_id": "s", "elapsed_s": -1, "retained_chars": 1, "total_chars": 2})
    missing = make_event("tool.call")
    del missing["model"]
    response = post_events(client, [make_event(), bad, missing, make_event()])
    body = response.json()
    assert response.status_code == 202
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert body["rejected"][0]["event_id"] == bad["event_id"]
    assert body["rejected"][0]["errors"][0]["field"] == "payload.elapsed_s"
    assert body["rejected"][1]["errors"][0]["field"] == "model"
    assert Event.objects.count() == 2
    assert set(RejectionRollup.objects.values_list("reason", flat=True)) == {"invalid_payload", "invalid_model"}


def test_resending_a_batch_stores_each_event_once(client, org):
    events = [make_event("llm.usage") for _ in range(5)]
    assert post_events(client, events).status_code == 202
    assert post_events(client, events).status_code == 202
    assert Event.objects.count() == 5
    assert sum(HourlyRollup.objects.values_list("llm_requests", flat=True)) == 5


def test_gzip_body_is_accepted(client):
    body = gzip.compress(json.dumps({"events": [make_event()]}).encode())
    response = client.post("/api/v1/events", data=body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 202
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (b"{not json", {}, 400, "bad_request"),
        (b'{"events": {}}', {}, 400, "bad_request"),
        (b"\x1f\x8b\x08garbage", {"HTTP_CONTENT_ENCODING": "gzip"}, 400, "bad_request"),
        (b"[]", {"HTTP_CONTENT_ENCODING": "br"}, 400, "bad_request"),
    ],
)
def test_malformed_bodies_get_a_clear_400(client, body, headers, status, error):
    response = client.post("/api/v1/events", data=body, content_type="application/json", **headers)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["message"]


def test_missing_or_wrong_key_is_401():
    anonymous = APIClient()
    response = post_events(anonymous, [make_event()])
    assert response.status_code == 401
    assert "API key" in response.json()["message"]
    anonymous.credentials(HTTP_X_API_KEY="fw_nothere_secret")
    assert post_events(anonymous, [make_event()]).status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Basic abc")
    assert post_events(anonymous, [make_event()]).status_code == 401


def test_x_api_key_header_works(org):
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=api_key_create(org=org))
    assert post_events(api, [make_event()]).status_code == 202


def test_oversize_batches_are_413(client, settings):
    too_many = [make_event() for _ in range(1001)]
    response = post_events(client, too_many)
    assert response.status_code == 413
    assert response.json()["field"] == "events"
    settings.TELEMETRY_MAX_BODY_BYTES = 1000
    response = post_events(client, [make_event() for _ in range(10)])
    assert response.status_code == 413
    bomb = gzip.compress(b"[" + b" " * 5000 + b"]")
    response = client.post("/api/v1/events", data=bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 413


def test_rate_limit_answers_429_with_retry_after(client, settings):
    from django.core.cache import cache

    cache.clear()
    settings.TELEMETRY_INGEST_RATE = "3/minute"
    statuses = [post_events(client, [make_event()]).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    response = post_events(client, [make_event()])
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"] == "rate_limited"
    cache.clear()


def test_create_api_key_command_prints_a_working_key_last(capsys):
    call_command("create_api_key", "newco")
    key = capsys.readouterr().out.strip().splitlines()[-1]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert post_events(api, [make_event()]).status_code == 202
    assert Event.objects.get().org.slug == "newco"


def test_schema_endpoints_serve_the_event_schema(client):
    schema = APIClient().get("/api/schema/events-v1.json").json()
    assert "tool.call" in json.dumps(schema)
    openapi = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/events" in openapi["paths"]
