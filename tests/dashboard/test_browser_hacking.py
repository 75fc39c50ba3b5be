"""The reward-hacking page in headless Chromium: empty state, then real attack_rewarder runs
drawn as catch and false-positive rates per kind over time."""
from __future__ import annotations

import pytest

from rewards.core.detectors import DETECTOR_KINDS
from rewards.hacking import hacking_report_create
from telemetry.services import organization_get_or_create
from tests.dashboard.conftest import user_in
from tests.dashboard.test_browser import Session, chromium  # noqa: F401 - the module's browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def member():
    return user_in(organization_get_or_create(slug="acme", name="Acme"), "carol")


def test_hacking_page_empty_then_reports_over_time(chromium, live_server, member):  # noqa: F811
    s = Session(chromium, live_server.url, "carol")
    try:
        s.open("/dashboard/hacking/")
        s.settle()
        assert "attack_rewarder" in s.page.locator("[data-empty=hacking]").inner_text()

        for _ in range(2):
            hacking_report_create(tasks=3)
        s.open("/dashboard/hacking/")
        s.settle()
        assert s.page.locator("[data-kpi=verdict]").inner_text().lower().count("passed") == 1
        assert s.assert_charts_drawn() == 2
        points = s.page.locator("canvas[data-chart=catch-rate]").evaluate(
            "(c) => Chart.getChart(c).data.datasets.filter((d) => d.label !== 'limit').map((d) => d.data.length)")
        assert points == [2] * len(DETECTOR_KINDS)
        assert s.page.locator("#kinds-table [data-kind]").count() == len(DETECTOR_KINDS)
        assert s.page.locator("#disguises-table [data-disguise='base64']").count() == 1
        assert "Reward hacking" in s.page.locator("nav, aside").first.inner_text()
        s.shot("hacking")
        assert s.errors == []
    finally:
        s.close()


def test_hacking_reports_endpoint_needs_login_and_checks_limit(live_server, member, client):
    assert client.get("/dashboard/api/hacking-reports").status_code in (401, 403)
    client.force_login(member)
    assert client.get("/dashboard/api/hacking-reports?limit=0").json()["field"] == "limit"
    assert client.get("/dashboard/api/hacking-reports").json()["reports"] == []
