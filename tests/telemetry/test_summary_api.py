import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from telemetry.models import Membership
from telemetry.services import events_ingest, organization_get_or_create
from tests.factories import api_client_for, make_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def orgs():
    acme, other = organization_get_or_create(slug="acme"), organization_get_or_create(slug="other")
    events_ingest(org=acme, events=[make_event(version="v1"), make_event(version="v2"), make_event(version="v2")])
    events_ingest(org=other, events=[make_event(version="secret-v9")])
    return acme, other


key_client = api_client_for


def test_summary_per_version_for_the_keys_org_only(orgs):
    acme, _ = orgs
    body = key_client(acme).get("/api/v1/metrics/summary").json()
    assert body["organization"] == "acme"
    assert {r["model_version"]: r["events"] for r in body["model_versions"]} == {"v1": 1, "v2": 2}


def test_summary_filters_by_version_and_time(orgs):
    acme, _ = orgs
    api = key_client(acme)
    body = api.get("/api/v1/metrics/summary", {"model_version": "v2"}).json()
    assert [r["model_version"] for r in body["model_versions"]] == ["v2"]
    body = api.get("/api/v1/metrics/summary?model_version=v1,v2&since=2026-11-20T11:00:00Z").json()
    assert body["model_versions"] == []
    body = api.get("/api/v1/metrics/summary?since=2026-11-20T10:00:00Z&until=2026-11-20T11:00:00Z").json()
    assert len(body["model_versions"]) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [("since=yesterday", "since"), ("until=2026-13-01", "until"), ("since=2026-11-21T00:00:00Z&until=2026-11-20T00:00:00Z", "until")],
)
def test_bad_query_parameters_name_the_field(orgs, query, field):
    response = key_client(orgs[0]).get(f"/api/v1/metrics/summary?{query}")
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_dashboard_login_sees_its_membership_only(orgs):
    acme, other = orgs
    user = get_user_model().objects.create_user("ana", password="pw-12345678")
    Membership.objects.create(user=user, org=acme)
    api = APIClient()
    assert api.get("/api/v1/metrics/summary").status_code == 401
    api.login(username="ana", password="pw-12345678")
    body = api.get("/api/v1/metrics/summary").json()
    assert "secret-v9" not in str(body)
    assert api.get("/api/v1/metrics/summary?org=other").status_code == 403
    assert api.get("/api/v1/metrics/summary?org=acme%00").status_code == 403  # PostgreSQL refuses NUL: no 500
