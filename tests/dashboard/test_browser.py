"""The dashboard in headless Chromium (Debian's /usr/bin/chromium), driven by Playwright.

Logs in through the login form, opens every registered page on a run of the project's
simulator (``training.simulator``, sending over the real POST /api/v1/events), checks that charts were really drawn (Chart.js instance
with data, and coloured pixels on the canvas), filters by model version, compares two
versions, and checks that another organization's data never shows. Screenshots of every
page land in artifacts/screenshots/.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from dashboard.pages import PAGES
from rewards.hacking import hacking_report_create
from training.rl.reporting import RunReport
from training.services.runs import run_create, run_report
from tests.dashboard.conftest import PASSWORD, user_in
from telemetry.services import api_key_create, organization_get_or_create
from tests.dashboard.data import ACME_SIMULATED, GLOBEX_SIMULATED, ingestion_troubles, simulate_over_http

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("FLYWHEEL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"
VENDOR_CHART = Path(django_settings.BASE_DIR) / "dashboard" / "static" / "dashboard" / "vendor" / "chart.umd.min.js"
ACME = [name for name, _ in ACME_SIMULATED]
GLOBEX = [name for name, _ in GLOBEX_SIMULATED]

# Number of non-transparent pixels of a canvas: > 0 only once something was drawn on it.
PAINTED_PIXELS_JS = """(canvas) => {
  const ctx = canvas.getContext('2d');
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 16) if (data[i] > 0) painted++;
  return painted;
}"""
CHART_POINTS_JS = """(canvas) => {
  const chart = Chart.getChart(canvas);
  return chart ? chart.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0) : -1;
}"""


@pytest.fixture(scope="module")
def chromium(django_db_setup, django_db_blocker):
    """Headless Chromium for this module.

    Playwright's sync API keeps an asyncio loop in this thread, which Django's async-safety
    check mistakes for async code; the ORM calls here are plain synchronous ones, so the
    check is switched off while the browser is up (and restored after).
    """
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_system.sh (Debian's chromium package).", pytrace=False)
    if not VENDOR_CHART.exists():
        pytest.fail("Chart.js is not built: run scripts/build_dashboard_assets.sh (make install does).", pytrace=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def run(live_server):
    """Two organizations filled by the project's simulator over HTTP, and one user in each."""
    acme = organization_get_or_create(slug="acme", name="Acme")
    globex = organization_get_or_create(slug="globex", name="Globex")
    for org, versions, seed, dead in ((acme, ACME_SIMULATED, 11, 1), (globex, GLOBEX_SIMULATED, 5, 0)):
        key = api_key_create(org=org)
        assert simulate_over_http(base_url=live_server.url, api_key=key, versions=versions, seed=seed) > 1000
        ingestion_troubles(base_url=live_server.url, api_key=key, org_slug=org.slug, dead_letters=dead)
    hacking_report_create(tasks=3)  # the reward-hacking page charts attack_rewarder runs (shared by every org)
    training_run_reported(org=acme, steps=3)  # the training-runs page charts a run's reported curves
    return {"acme": acme, "globex": globex, "alice": user_in(acme, "alice", staff=True), "bob": user_in(globex, "bob")}


def training_run_reported(*, org, steps: int) -> None:
    """A run of ``org`` whose job reported ``steps`` steps of reward and loss curves."""
    run, _ = run_create(config={"steps": steps}, org=org)
    for step in range(1, steps + 1):
        metrics = {"reward/mean": 0.2 + 0.1 * step, "loss/policy": 0.5 / step, "clip/fraction": 0.01, "entropy": 1.2}
        run_report(run_id=run.pk, report=RunReport(step=step, total_steps=steps, metrics=metrics))


class Session:
    """A logged-in browser tab that records console errors and failed requests."""

    def __init__(self, chromium, base_url: str, username: str) -> None:
        self.context = chromium.new_context(viewport={"width": 1440, "height": 1000})
        self.page = self.context.new_page()
        self.base_url = base_url
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        self.page.on("response", lambda r: r.status >= 400 and not r.url.endswith("favicon.ico") and self.errors.append(f"{r.status} {r.url}"))
        self.login(username)

    def login(self, username: str) -> None:
        self.page.goto(self.base_url + "/dashboard/")
        assert "/accounts/login/" in self.page.url
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/dashboard/")

    def open(self, path: str) -> None:
        self.page.goto(self.base_url + path)
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function("() => !document.querySelector('[data-loading] .loading')")

    def assert_charts_drawn(self, selector: str = "canvas[data-chart]") -> int:
        canvases = self.page.locator(selector)
        count = canvases.count()
        assert count > 0, f"no chart canvas on {self.page.url}"
        for i in range(count):
            canvas = canvases.nth(i)
            points = canvas.evaluate(CHART_POINTS_JS)
            assert points > 0, f"chart {canvas.get_attribute('data-chart')} on {self.page.url} has no data"
            assert canvas.evaluate(PAINTED_PIXELS_JS) > 100, f"chart {canvas.get_attribute('data-chart')} was not drawn"
            assert len(canvas.evaluate("(c) => c.toDataURL()")) > 5000
        return count

    def shot(self, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")  # the sidebar is sticky: shoot from the top
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def text(self) -> str:
        return self.page.content()

    def close(self) -> None:
        self.context.close()


def test_tour_of_every_page_with_filters_and_compare(chromium, live_server, run):
    s = Session(chromium, live_server.url, "alice")
    try:
        # Every registered page renders, draws its charts, and shows no other org's data.
        for page in PAGES:
            s.open(f"/dashboard/{page.slug + '/' if page.slug else ''}")
            assert s.assert_charts_drawn() >= 1
            html = s.text()
            assert not any(v in html for v in GLOBEX) and "Globex" not in html, page.slug
            s.shot(f"{page.url_name}")

        # Overview: the KPI cards compare the newest version with the one before.
        s.open("/dashboard/")
        assert s.page.locator("[data-kpi]").count() == 4
        assert ACME[2] in s.page.locator("[data-kpi=code_retention_5m]").inner_text()
        assert s.page.locator("#overview-table [data-row]").count() == 3
        # ...and why: the breakdown slices that moved most, significant ones only.
        assert s.page.locator("#movers [data-mover]").count() > 0
        # Filter by model version: tick one chip; the form submits and the data follows.
        s.page.locator(f"[data-version-chip='{ACME[0]}']").click()
        s.page.wait_for_url(f"**model_version={ACME[0]}**")
        s.settle()
        rows = s.page.locator("#overview-table [data-row]").evaluate_all("(rows) => rows.map((r) => r.dataset.row)")
        assert rows == [ACME[0], ACME[1]]  # the selected version, and the baseline its deltas are against
        assert s.page.locator(f"#overview-table tr.baseline[data-row='{ACME[1]}']").count() == 1
        labels = s.page.locator("canvas[data-chart=overview-0]").evaluate("(c) => Chart.getChart(c).data.labels")
        assert labels == [ACME[0], ACME[1]]
        assert ACME[2] not in s.page.locator("#kpis").inner_text()
        assert ACME[0] in s.page.locator("[data-kpi=tool_call_error_rate]").inner_text()
        s.assert_charts_drawn()
        s.shot("overview-filtered")
        # Retention at another T, on demand.
        s.page.select_option("select[name=retention]", "1h")
        s.page.wait_for_url("**retention=1h**")
        s.settle()
        assert "code retention @ 1 h" in s.page.locator("[data-kpi]").first.inner_text().lower()

        # Compare: pick two versions; both show, with the difference of every metric.
        s.open("/dashboard/compare/")
        s.page.select_option("select[name=a]", ACME[0])
        s.page.wait_for_url(f"**a={ACME[0]}**")
        s.settle()
        s.page.select_option("select[name=b]", ACME[2])
        s.page.wait_for_url(f"**b={ACME[2]}**")
        s.settle()
        assert ACME[0] in s.page.locator("[data-side=a]").inner_text()
        assert ACME[2] in s.page.locator("[data-side=b]").inner_text()
        assert s.page.locator("#compare-table [data-metric]").count() >= 12
        assert "better" in s.page.locator("[data-verdict]").inner_text()
        s.assert_charts_drawn()
        s.page.click("#dimension-tabs a[data-dimension=shell]")
        assert s.page.locator("#breakdown-table [data-value=powershell]").count() == 1
        s.shot("compare-two-versions")

        # Windows terminal-command accuracy: one click from the sidebar.
        s.open("/dashboard/")
        s.page.click("[data-shortcut=windows-terminal-accuracy]")
        s.settle()
        assert "os=windows" in s.page.url and "tool=shell" in s.page.url
        assert s.page.locator("#breakdown-title").inner_text() == "Windows terminal-command accuracy by shell"
        assert set(s.page.locator("#breakdown-table tr[data-value]").evaluate_all("(rows) => rows.map((r) => r.dataset.value)")) == {"cmd", "powershell"}
        s.assert_charts_drawn()
        s.shot("breakdowns-windows-terminal-accuracy")

        # Trends: a marker for each version's first appearance.
        s.open("/dashboard/trends/")
        markers = s.page.locator("canvas[data-chart=trend-0]").evaluate("(c) => Chart.getChart(c).options.plugins.versionMarkers.markers.map((m) => m.label)")
        assert markers == [f"{v} first seen" for v in ACME]

        # Ingestion health: replay the dead letter (alice is staff).
        s.open("/dashboard/ingestion/")
        assert s.page.locator("[data-kpi=dead-letters] .value").inner_text() == "1"
        with s.page.expect_response("**/dashboard/api/dead-letters/replay") as replay:
            s.page.click("[data-action=replay]")
        assert replay.value.status == 202
        s.page.wait_for_selector(".toast")
        assert not s.errors, s.errors
    finally:
        s.close()


def test_another_organizations_data_never_shows(chromium, live_server, run):
    bob = Session(chromium, live_server.url, "bob")
    alice = Session(chromium, live_server.url, "alice")
    try:
        for page in PAGES:
            path = f"/dashboard/{page.slug + '/' if page.slug else ''}"
            bob.open(path)
            html = bob.text()
            assert not any(v in html for v in ACME), path
            assert "Acme" not in html
        bob.open("/dashboard/compare/")
        assert GLOBEX[0] in bob.page.locator("[data-side=a]").inner_text()
        bob.shot("compare-as-other-org")
        # Every JSON endpoint, from alice's session: her versions only; bob's are 404.
        for name in ("overview", "compare", "trends", "breakdown", "tool-errors", "ingestion", "versions"):
            body = alice.page.request.get(f"{live_server.url}/dashboard/api/{name}").text()
            assert not any(v in body for v in GLOBEX) and "globex" not in body, name
        answer = alice.page.request.get(f"{live_server.url}/dashboard/api/overview?model_version={GLOBEX[0]}")
        assert answer.status == 404 and json.loads(answer.text())["error"] == "not_found"
        assert alice.page.request.get(f"{live_server.url}/dashboard/api/overview?org=globex").status == 403
        assert alice.page.goto(f"{live_server.url}/dashboard/?org=globex").status == 403
        # bob may not replay dead letters: the button is disabled and the API refuses.
        bob.open("/dashboard/ingestion/")
        assert bob.page.locator("[data-action=replay]").is_disabled()
        assert not [e for e in bob.errors if "/replay" not in e], bob.errors
    finally:
        bob.close()
        alice.close()
