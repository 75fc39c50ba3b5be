"""The dashboard's JSON endpoints and pages, on data stored through the real ingestion path."""
from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from dashboard.pages import PAGES, Page, page_register, sections
from telemetry.models import DeadLetter
from telemetry.services import api_key_create
from tests.dashboard.conftest import PASSWORD, user_in
from tests.dashboard.data import ACME_VERSIONS, GLOBEX_VERSIONS

pytestmark = pytest.mark.django_db

ASSET_URL = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]*)"')  # script and stylesheet URLs

ACME = [v.name for v in ACME_VERSIONS]
GLOBEX = [v.name for v in GLOBEX_VERSIONS]


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def get(client, name, **params):
    response = client.get(reverse(f"dashboard:{name}"), params)
    return response, (response.json() if response["Content-Type"].startswith("application/json") else None)


def test_overview_has_every_version_with_intervals_and_deltas_against_the_previous_one(alice):
    response, body = get(login(alice), "api-overview")
    assert response.status_code == 200
    assert body["organization"] == "acme"
    assert [v["model_version"] for v in body["versions"]] == ACME
    assert body["baseline"] == ACME[1] and body["newest"] == ACME[2]
    assert [m["key"] for m in body["metrics"]] == ["code_retention_5m", "tool_call_error_rate", "tokens_per_task", "acceptance_rate"]
    newest = body["versions"][-1]
    for key, cell in newest["metrics"].items():
        e = cell["estimate"]
        assert e["low"] <= e["value"] <= e["high"], key
        assert {"diff", "low", "high", "relative", "p_value", "significant", "verdict"} <= set(cell["delta"])
    assert "delta" not in body["versions"][1]["metrics"]["tool_call_error_rate"]
    # The simulated newest version is much better: fewer tool errors, higher retention.
    assert newest["metrics"]["tool_call_error_rate"]["delta"]["verdict"] == "better"
    assert newest["metrics"]["code_retention_5m"]["delta"]["verdict"] == "better"


def test_overview_filters_versions_picks_baseline_and_retention_checkpoint(alice):
    client = login(alice)
    _, body = get(client, "api-overview", model_version=f"{ACME[0]},{ACME[2]}", retention="1h")
    assert [v["model_version"] for v in body["versions"]] == [ACME[0], ACME[2]]
    assert body["baseline"] == ACME[0]
    assert body["metrics"][0]["key"] == "code_retention_1h"
    _, all_versions = get(client, "api-overview", baseline=ACME[0])
    assert [v["is_baseline"] for v in all_versions["versions"]] == [True, False, False]
    one = client.get(reverse("dashboard:api-overview") + f"?model_version={ACME[1]}").json()
    # The filter changes the numbers shown: only that version (and its default baseline = itself).
    assert [v["model_version"] for v in one["versions"]] == [ACME[1]]


def test_foreign_or_unknown_versions_are_404_never_data(alice, bob):
    client = login(alice)
    for name, params in [
        ("api-overview", {"model_version": GLOBEX[0]}),
        ("api-overview", {"baseline": GLOBEX[0]}),
        ("api-compare", {"a": ACME[0], "b": GLOBEX[1]}),
        ("api-trends", {"model_version": GLOBEX[0]}),
        ("api-breakdown", {"model_version": GLOBEX[0]}),
        ("api-tool-errors", {"model_version": GLOBEX[0]}),
    ]:
        response, body = get(client, name, **params)
        assert response.status_code == 404, (name, params)
        assert body["error"] == "not_found"
    # And no endpoint's answer mentions the other org's versions.
    for name in ("api-versions", "api-overview", "api-compare", "api-trends", "api-breakdown", "api-tool-errors", "api-ingestion"):
        response, _ = get(client, name)
        assert response.status_code == 200
        text = response.content.decode()
        assert not any(v in text for v in GLOBEX), name
        assert "globex" not in text
    # Asking for another org by slug is refused.
    response, _ = get(client, "api-overview", org="globex")
    assert response.status_code == 403


def test_each_user_sees_their_own_org(alice, bob):
    _, a = get(login(alice), "api-versions")
    _, b = get(login(bob), "api-versions")
    assert [v["model_version"] for v in a["versions"]] == ACME
    assert [v["model_version"] for v in b["versions"]] == GLOBEX
    assert b["organization"] == "globex"


def test_user_of_two_orgs_switches_with_org_parameter(acme, globex):
    user = user_in(acme, "carol")
    user_in_second = user.memberships.create(org=globex)
    assert user_in_second
    client = login(user)
    _, default = get(client, "api-versions")
    _, chosen = get(client, "api-versions", org="globex")
    assert default["organization"] == "acme" and chosen["organization"] == "globex"


def test_anonymous_and_orgless_users_are_refused(acme, django_user_model):
    assert get(Client(), "api-overview")[0].status_code in (401, 403)
    page = Client().get(reverse("dashboard:overview"))
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    loner = django_user_model.objects.create_user("loner", password=PASSWORD)
    client = login(loner)
    assert get(client, "api-overview")[0].status_code == 403
    assert client.get(reverse("dashboard:overview")).status_code == 403


def test_api_key_reads_its_own_org(acme, globex):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(org=globex)}")
    body = api.get(reverse("dashboard:api-overview")).json()
    assert body["organization"] == "globex"
    assert [v["model_version"] for v in body["versions"]] == GLOBEX


def test_compare_covers_every_metric_breakdown_and_error_kind(alice):
    response, body = get(login(alice), "api-compare", a=ACME[0], b=ACME[2])
    assert response.status_code == 200
    assert (body["a"], body["b"]) == (ACME[0], ACME[2])
    keys = [m["key"] for m in body["metrics"]]
    assert keys[:4] == ["code_retention_5m", "tool_call_error_rate", "tokens_per_task", "acceptance_rate"]
    assert {"code_retention_30s", "code_retention_2m", "code_retention_10m", "code_retention_1h", "task_success_rate"} <= set(keys)
    for m in body["metrics"]:
        assert {"a", "b", "difference"} <= set(m)
        if m["kind"] != "point":
            assert m["difference"]["p_value"] is not None, m["key"]
    assert set(body["breakdowns"]) == {"os", "shell", "ide", "language", "tool"}
    assert {e["value"] for e in body["breakdowns"]["os"]} == {"windows", "linux", "macos"}
    assert {e["value"] for e in body["breakdowns"]["shell"]} == {"powershell", "cmd", "bash", "zsh"}
    assert {e["value"] for e in body["breakdowns"]["tool"]} == {"shell", "read_file", "edit_file", "search"}
    assert [m["key"] for m in body["breakdowns"]["tool"][0]["metrics"]] == ["tool_call_error_rate", "tool_call_success_rate"]
    kinds = {k["error_kind"] for k in body["error_kinds"]}
    assert "invalid_for_shell" in kinds
    assert body["summary"][ACME[0]]["tool_calls"] > 0
    # Defaults: the newest against the one before it.
    _, default = get(login(alice), "api-compare")
    assert (default["a"], default["b"]) == (ACME[1], ACME[2])


def test_trends_by_hour_and_day_with_first_appearance_markers(alice):
    client = login(alice)
    _, hourly = get(client, "api-trends", bucket="hour")
    assert hourly["bucket"] == "hour" and len(hourly["buckets"]) >= 20
    assert [m["model_version"] for m in hourly["markers"]] == ACME
    first_seen = [m["first_seen"] for m in hourly["markers"]]
    assert first_seen == sorted(first_seen)
    series = {s["model_version"]: s for s in hourly["series"]}
    values = series[ACME[2]]["metrics"]["tool_call_error_rate"]["value"]
    assert len(values) == len(hourly["buckets"])
    assert values[0] is None  # the newest version did not exist at the start
    _, daily = get(client, "api-trends", bucket="day", metric="acceptance_rate,tokens_per_task")
    assert daily["bucket"] == "day" and 1 <= len(daily["buckets"]) <= 2
    assert [m["key"] for m in daily["metrics"]] == ["acceptance_rate", "tokens_per_task"]
    _, auto = get(client, "api-trends")
    assert auto["bucket"] == "hour"  # a 24-hour run
    _, only = get(client, "api-trends", model_version=ACME[0])
    assert [s["model_version"] for s in only["series"]] == [ACME[0]]


def test_breakdowns_and_the_windows_terminal_preset(alice):
    client = login(alice)
    _, by_os = get(client, "api-breakdown", dimension="os")
    assert {v["value"] for v in by_os["values"]} == {"windows", "linux", "macos"}
    assert by_os["versions"] == ACME
    _, windows = get(client, "api-breakdown", dimension="shell", os="windows", tool="shell")
    assert {v["value"] for v in windows["values"]} == {"cmd", "powershell"}
    assert [m["key"] for m in windows["metrics"]] == ["tool_call_error_rate", "tool_call_success_rate"]
    accuracy = windows["values"][0]["versions"][ACME[2]]["tool_call_success_rate"]
    assert 0 < accuracy["value"] <= 1 and accuracy["n"] > 0
    _, by_language = get(client, "api-breakdown", dimension="language", model_version=ACME[1])
    assert by_language["versions"] == [ACME[1]]
    response, _ = get(client, "api-breakdown", dimension="planet")
    assert response.status_code == 400


def test_tool_errors_ranked_with_shares_of_calls(alice):
    _, body = get(login(alice), "api-tool-errors", os="windows", tool="shell")
    totals = [k["total"] for k in body["kinds"]]
    assert totals == sorted(totals, reverse=True) and totals
    assert body["kinds"][0]["error_kind"] == "invalid_for_shell"
    per_call = body["kinds"][0]["by_version"][ACME[0]]["per_call"]
    assert 0 < per_call < 1


def test_ingestion_health_and_replay(alice, bob, django_capture_on_commit_callbacks):
    client = login(alice)
    response, body = get(client, "api-ingestion")
    assert response.status_code == 200
    assert body["stored_in_window"] > 0 and len(body["per_minute"]) == 60
    assert {r["reason"] for r in body["rejections"]} == {"invalid_payload", "invalid_model"}
    assert body["pipeline"]["mode"] == "embedded" and body["pipeline"]["consumer_lag"] == 0
    assert body["pipeline"]["dead_letters"] == 1 and body["can_replay"] is True
    # Staff only.
    other = login(bob)
    refused = other.post(reverse("dashboard:api-dead-letters-replay"))
    assert refused.status_code == 403
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        answer = client.post(reverse("dashboard:api-dead-letters-replay"))
    assert len(callbacks) == 1
    assert answer.status_code == 202 and answer.json() == {"status": "queued", "dead_letters": 1}
    # The (eager) task replayed it: the poison message is marked replayed and dead-lettered anew.
    assert DeadLetter.objects.filter(replayed_at__isnull=False).count() == 1
    assert DeadLetter.objects.filter(replayed_at__isnull=True).count() == 1


def test_replay_needs_csrf_for_session_users(alice):
    client = Client(enforce_csrf_checks=True)
    client.login(username="alice", password=PASSWORD)
    assert client.post(reverse("dashboard:api-dead-letters-replay")).status_code == 403


def test_invalid_parameters_are_400(alice):
    client = login(alice)
    for name, params in [("api-overview", {"retention": "7m"}), ("api-trends", {"bucket": "week"}), ("api-overview", {"since": "yesterday"}),
                         ("api-overview", {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}), ("api-tool-errors", {"limit": 0})]:
        response, body = get(client, name, **params)
        assert response.status_code == 400, (name, params)
        assert body["error"] == "bad_request"


def test_time_range_limits_the_data(alice):
    client = login(alice)
    _, everything = get(client, "api-overview")
    _, last_hour = get(client, "api-overview", last="1h")
    total = sum(v["metrics"]["tool_call_error_rate"]["estimate"]["n"] for v in everything["versions"])
    recent = sum(v["metrics"]["tool_call_error_rate"]["estimate"]["n"] for v in last_hour["versions"])
    assert 0 <= recent < total


def test_every_data_endpoint_is_in_the_openapi_schema(alice):
    schema = login(alice).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("overview", "compare", "trends", "breakdown", "tool-errors", "ingestion", "versions", "dead-letters/replay"):
        assert f"/dashboard/api/{path}" in schema["paths"], path
    overview = schema["paths"]["/dashboard/api/overview"]["get"]
    assert {p["name"] for p in overview["parameters"]} >= {"model_version", "baseline", "retention", "since", "until", "last", "org"}
    assert "200" in overview["responses"] and "404" in overview["responses"]


def test_pages_render_with_navigation_from_the_registry(alice):
    client = login(alice)
    for page in PAGES:
        response = client.get(reverse(f"dashboard:{page.url_name}"))
        assert response.status_code == 200, page.slug
        html = response.content.decode()
        for other in PAGES:
            assert f'data-nav="{other.url_name}"' in html
        assert "chart.umd.min.js" in html
        # Every script and stylesheet is served by this app. (Not a search of the whole page for
        # "cdn": its random CSRF token contains those letters about once in 460 renders.)
        assets = ASSET_URL.findall(html)
        assert assets and all(url.startswith(("/", "data:")) and "cdn" not in url.lower() for url in assets), assets
        config = json.loads(html.split('id="dashboard-config" type="application/json">')[1].split("</script>")[0])
        assert set(config["endpoints"]) == set(page.endpoints)
    html = client.get(reverse("dashboard:breakdowns")).content.decode()
    assert "dimension=shell&amp;os=windows&amp;tool=shell" in html  # Windows terminal accuracy, one click away


def test_page_registry_takes_new_pages():
    before = list(PAGES)
    try:
        page = page_register(Page(slug="experiments", title="Experiments", template="dashboard/overview.html", section="Experiments", summary="A/B tests."))
        assert page.url_name == "experiments"
        assert ("Experiments", [page]) in sections()
        with pytest.raises(ValueError):
            page_register(page)
    finally:
        PAGES[:] = before


def test_login_page_renders_and_logs_in(alice):
    client = Client()
    page = client.get("/accounts/login/?next=/dashboard/compare/")
    assert page.status_code == 200 and b"Sign in" in page.content
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD, "next": "/dashboard/compare/"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/compare/"
    bad = Client().post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert b"didn&#x27;t match" in bad.content or b"didn't match" in bad.content
