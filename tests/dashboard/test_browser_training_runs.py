"""The training-runs page in headless Chromium: a real local RL run's curves, lineage, logs;
a live run's curves grow while it reports; staff stop it from the page."""
from __future__ import annotations

import pytest

from telemetry.services import organization_get_or_create
from tests.dashboard.conftest import user_in
from tests.dashboard.test_browser import Session, chromium  # noqa: F401 - the module's browser fixture
from tests.training.rl.conftest import local_ray, rl_policy  # noqa: F401 - session fixtures
from tests.training.rl.factories import RL_TASK_PREFIXES
from training.models.runs import RunStatus
from training.rl.reporting import RunReport
from training.services.runs import run_create, run_execute_local, run_report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def acme_users(settings, tmp_path):
    settings.RAY_ADDRESS = ""
    settings.TRAINING_RUNS_DIR = tmp_path / "runs"
    org = organization_get_or_create(slug="acme", name="Acme")
    return org, user_in(org, "dora", staff=True), user_in(org, "eve")


def test_a_finished_run_shows_curves_lineage_and_logs(chromium, live_server, acme_users, rl_policy, local_ray):  # noqa: F811
    org, _, _ = acme_users
    config = {"policy_path": str(rl_policy), "task_id_prefixes": list(RL_TASK_PREFIXES), "steps": 3, "group_size": 4,
              "prompts_per_step": 4, "max_new_tokens": 16, "overlong_buffer": 4, "reward_source": "environment"}
    run, _ = run_create(config=config, org=org, dataset_snapshot_id="acme-prefs-0001", reward_model_version="rm-0001")
    assert run_execute_local(run_id=run.pk).status == RunStatus.SUCCEEDED
    s = Session(chromium, live_server.url, "dora")
    s.errors.clear()
    try:
        s.open("/dashboard/training-runs/")
        s.settle()
        assert "succeeded" in s.page.locator("[data-kpi=status]").inner_text()
        assert s.assert_charts_drawn() == 2
        points = s.page.locator("canvas[data-chart=reward]").evaluate(
            "(c) => Chart.getChart(c).data.datasets.find((d) => d.label === 'reward/mean').data.length")
        assert points == 3
        lineage = s.page.locator("[data-lineage]").inner_text()
        assert "acme-prefs-0001" in lineage and "rm-0001" in lineage and str(rl_policy) in lineage
        assert "step 3/3" in s.page.locator("#run-logs").inner_text()
        assert s.page.locator("[data-action=stop]").is_disabled()  # finished runs cannot be stopped
        s.shot("training-runs")
        assert s.errors == []
    finally:
        s.close()


def test_live_curves_grow_and_staff_stop_the_run(chromium, live_server, acme_users):  # noqa: F811
    org, _, _ = acme_users
    run, _ = run_create(config={"steps": 10}, org=org)
    run_report(run_id=run.pk, report=RunReport(step=1, total_steps=10, metrics={"reward/mean": 0.2}, logs=("step 1/10",)))
    s = Session(chromium, live_server.url, "dora")
    s.errors.clear()
    try:
        s.open("/dashboard/training-runs/")
        s.settle()
        assert "running" in s.page.locator("[data-kpi=status]").inner_text()
        run_report(run_id=run.pk, report=RunReport(step=2, total_steps=10, metrics={"reward/mean": 0.4}, logs=("step 2/10",)))
        s.page.wait_for_function(
            "() => Chart.getChart(document.querySelector('canvas[data-chart=reward]')).data.datasets[0].data.length === 2", timeout=15000)
        s.page.locator("[data-action=stop]").click()
        s.page.wait_for_function("() => document.querySelector('[data-action=stop]').textContent.includes('Stopping')", timeout=15000)
        run.refresh_from_db()
        assert run.stop_requested
        # the job sees the stop at its next report and ends as stopped
        assert run_report(run_id=run.pk, report=RunReport(step=3, total_steps=10)) is True
        assert s.errors == []
    finally:
        s.close()


def test_non_staff_cannot_stop(live_server, acme_users, client):
    org, _, eve = acme_users
    run, _ = run_create(config={"steps": 10}, org=org)
    client.force_login(eve)
    assert client.post(f"/dashboard/api/training-runs/{run.pk}/stop").status_code == 403
    assert client.get("/dashboard/api/training-runs").json()["can_stop"] is False
    assert client.get("/dashboard/api/training-runs?run=not-a-uuid").json()["field"] == "run"
