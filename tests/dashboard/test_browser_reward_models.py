"""The reward-models page in headless Chromium: versions, accuracy, calibration plot, the active one."""
from __future__ import annotations

import json

import pytest

from rewards.core.config import BradleyTerryConfig
from rewards.selectors import reward_model_active_reset
from rewards.services import reward_model_promote, reward_model_train
from telemetry.services import organization_get_or_create
from tests.dashboard.conftest import user_in
from tests.dashboard.test_browser import Session, chromium  # noqa: F401 - the module's browser fixture
from tests.rewards.conftest import dataset_create
from tests.rewards.factories import reference_pairs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TINY_BT = BradleyTerryConfig(epochs=1, batch_size=32, hidden_size=32, num_hidden_layers=1, max_length=96)


@pytest.fixture
def trained(settings, tmp_path):
    """acme: a baseline and a Bradley-Terry version (the latter active); globex: one baseline of its own."""
    settings.VAR_DIR = tmp_path / "var"
    reward_model_active_reset()
    acme = organization_get_or_create(slug="acme", name="Acme")
    globex = organization_get_or_create(slug="globex", name="Globex")
    pairs = reference_pairs(limit=200)
    acme_data = dataset_create(org=acme, pairs=pairs, version="acme-prefs-0001", directory=tmp_path / "acme")
    globex_data = dataset_create(org=globex, pairs=pairs[:60], version="globex-prefs-0001", directory=tmp_path / "globex")
    baseline = reward_model_train(dataset=acme_data, kind="baseline")
    globex_model = reward_model_train(dataset=globex_data, kind="baseline")
    reward_model_promote(version=baseline)
    bt = reward_model_train(dataset=acme_data, kind="bradley_terry", bradley_terry_config=TINY_BT)
    reward_model_promote(version=bt)
    yield {"baseline": baseline, "bt": bt, "globex": globex_model, "alice": user_in(acme, "alice"), "bob": user_in(globex, "bob")}
    reward_model_active_reset()


def test_reward_models_page(chromium, live_server, trained):  # noqa: F811 - the imported fixture
    baseline, bt, other = trained["baseline"].version, trained["bt"].version, trained["globex"].version
    alice = Session(chromium, live_server.url, "alice")
    try:
        alice.open("/dashboard/reward-models/")
        assert alice.assert_charts_drawn() == 2
        assert alice.page.locator("#rm-table [data-row]").evaluate_all("(rows) => rows.map((r) => r.dataset.row)") == [bt, baseline]
        assert alice.page.locator(f"#rm-table [data-row='{bt}'] [data-active]").count() == 1
        assert alice.page.locator(f"#rm-table [data-row='{baseline}'] [data-active]").count() == 0
        assert bt in alice.page.locator("[data-kpi=active]").inner_text()
        accuracy = alice.page.locator("canvas[data-chart=accuracy]").evaluate("(c) => Chart.getChart(c).data")
        assert accuracy["labels"] == [baseline, bt]
        assert accuracy["datasets"][0]["data"] == pytest.approx([trained["baseline"].pairwise_accuracy, trained["bt"].pairwise_accuracy])
        # The calibration plot: the diagonal plus the shown version's bins; switching versions redraws it.
        calibration = "(c) => Chart.getChart(c).data.datasets.map((d) => [d.label, d.data.length])"
        plotted = alice.page.locator("canvas[data-chart=calibration]").evaluate(calibration)
        bins = sum(1 for b in trained["bt"].calibration["bins"] if b["count"])
        assert plotted == [["perfect calibration", 2], [bt, bins]]
        alice.page.select_option("#calibration-version", baseline)
        alice.page.wait_for_function(f"() => Chart.getChart(document.querySelector('[data-chart=calibration]')).data.datasets[1].label === '{baseline}'")
        html = alice.text()
        assert other not in html and "globex-prefs" not in html
        body = json.loads(alice.page.request.get(f"{live_server.url}/dashboard/api/reward-models").text())
        assert [v["version"] for v in body["versions"]] == [bt, baseline] and body["active"] == bt
        assert not alice.errors, alice.errors
        alice.shot("reward-models")
    finally:
        alice.close()
    bob = Session(chromium, live_server.url, "bob")
    try:
        bob.open("/dashboard/reward-models/")
        assert bob.page.locator("#rm-table [data-row]").evaluate_all("(rows) => rows.map((r) => r.dataset.row)") == [other]
        assert "none" in bob.page.locator("[data-kpi=active]").inner_text()  # the active model is acme's
        assert bt not in bob.text() and baseline not in bob.text()
        assert not bob.errors, bob.errors
    finally:
        bob.close()
