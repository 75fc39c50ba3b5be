"""A new organization with no telemetry yet: every page opens without a script error and says so."""
from __future__ import annotations

import pytest

from telemetry.services import organization_get_or_create
from tests.dashboard.conftest import user_in
from tests.dashboard.test_browser import Session, chromium  # noqa: F401 - the module's browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def newcomer():
    return user_in(organization_get_or_create(slug="fresh", name="Fresh"), "nina")


def test_the_overview_of_an_org_without_telemetry_says_there_is_no_data(chromium, live_server, newcomer):  # noqa: F811
    s = Session(chromium, live_server.url, "nina")  # the login lands on the overview
    try:
        s.page.wait_for_load_state("networkidle")
        assert "No telemetry for Fresh yet" in s.page.locator(".content").inner_text()
        for path in ("/dashboard/trends/", "/dashboard/compare/", "/dashboard/breakdowns/"):
            s.open(path)
            assert "No telemetry for Fresh yet" in s.page.locator(".content").inner_text()
        assert s.errors == []
    finally:
        s.close()
