"""The deployments page in headless Chromium: versions and lineage, a canary promoted on
simulated traffic (telemetry through the live server's real ingestion, sessions routed by
``GET /api/v1/assignment``), a gate-refused candidate, every decision with its numbers."""
from __future__ import annotations

import pytest

from telemetry.services import api_key_create, organization_get_or_create
from tests.dashboard.conftest import user_in
from tests.dashboard.test_browser import Session, chromium  # noqa: F401  (the module's browser fixture)
from tests.training.release.test_gate import report
from tests.training.services.conftest import policy_server, tiny_candidate, tiny_v0  # noqa: F401  (fixtures)
from tests.training.services.test_deployments import candidate_registered, canary_traffic
from training.release.backends import LocalBackend
from training.release.gate import gate_evaluate
from training.release.judge import JudgeConfig
from training.services.deployments import (
    model_version_gate_record,
    model_version_register,
    model_version_serve_initial,
    rollout_judge,
    rollout_start,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deployed(live_server, tiny_v0, tiny_candidate, policy_server):
    org = organization_get_or_create(slug="acme", name="Acme")
    other = organization_get_or_create(slug="globex", name="Globex")
    model_version_serve_initial(org=other, name="globex-secret", artifact=str(tiny_v0))
    key = api_key_create(org=org)
    v0 = model_version_serve_initial(org=org, name="v0", artifact=str(tiny_v0))
    v2 = candidate_registered(org, "v2", tiny_candidate, v0)
    rollout = rollout_start(candidate=v2, backend=LocalBackend(policy_server.url), canary_share=0.5,
                            judge_config=JudgeConfig(min_sessions_per_arm=60))
    assert rollout_judge(rollout=rollout).verdict == "wait"
    canary_traffic(live_server.url, key, versions=["v0", "v2"], sessions=240, seed=21)
    rollout.refresh_from_db()
    assert rollout_judge(rollout=rollout).verdict == "promote"
    refused = model_version_register(org=org, name="v3", artifact=str(tiny_candidate), parent=v2, rl_run_id="run-9")
    model_version_gate_record(
        version=refused, result=gate_evaluate(candidate=report("v3", success=40), serving=report("v2", success=60)),
        evaluation={},
    )
    user_in(org, "alice", staff=True)
    return org


def test_deployments_page(chromium, live_server, deployed):  # noqa: F811
    s = Session(chromium, live_server.url, "alice")
    try:
        s.open("/dashboard/deployments/")
        assert s.assert_charts_drawn() == 1
        labels = s.page.locator("canvas[data-chart=traffic]").evaluate("(c) => Chart.getChart(c).data.datasets.map((d) => d.label)")
        assert set(labels) == {"v0", "v2"}
        assert "v2" in s.page.locator("[data-kpi=serving]").inner_text()
        assert s.page.locator("[data-kpi=promotions] .value").inner_text() == "1"
        # Versions with state and lineage, newest first.
        rows = s.page.locator("#versions-table [data-version]").evaluate_all("(rows) => rows.map((r) => r.dataset.version)")
        assert rows == ["v3", "v2", "v0"]
        states = {v: s.page.locator(f"[data-version={v}] [data-state]").get_attribute("data-state") for v in rows}
        assert states == {"v3": "candidate", "v2": "serving", "v0": "retired"}
        refused = s.page.locator("[data-version=v3]").inner_text()
        assert "refused" in refused and "does not beat" in refused and "run-9" in refused
        # The canary: status, full progress, the decision and why, with each metric's numbers.
        panel = s.page.locator("[data-rollout]")
        assert panel.count() == 1
        assert panel.locator("[data-status]").get_attribute("data-status") == "promoted"
        assert panel.locator("[data-progress]").get_attribute("data-progress") == "1"
        assert "no metric significantly worse" in panel.locator("[data-decision=promote]").inner_text()
        assert panel.locator("[data-metric]").count() == 5
        assert "%" in panel.locator("[data-metric=tool_call_error_rate]").inner_text()
        assert panel.locator("li[data-verdict]").count() == 2  # waited, then promoted
        assert "globex-secret" not in s.text()
        assert not s.errors, s.errors
        s.shot("deployments")
    finally:
        s.close()
