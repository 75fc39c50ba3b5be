"""After a simulation sent over real HTTP, GET /api/v1/metrics/summary equals the ground truth
for every metric and every version - over JSON, and with Claude Code users over OTLP."""
from __future__ import annotations

import pytest

from telemetry.services import api_key_create, organization_get_or_create
from training.simulator import (
    SUMMARY_KEYS,
    HashSplit,
    ReferenceResponder,
    SimulationConfig,
    TelemetrySender,
    simulate,
    summary_get,
    summary_mismatches,
)

pytestmark = pytest.mark.django_db(transaction=True)


def send_simulation(live_server, config: SimulationConfig, *, slug: str):
    api_key = api_key_create(org=organization_get_or_create(slug=slug))
    with TelemetrySender(live_server.url, api_key, batch_size=300) as sender:
        result = simulate(
            config, responder=ReferenceResponder(), assigner=HashSplit(["v1", "v2"]),
            sink=lambda record, json_events, otlp_events: (sender.add(json_events), sender.add(otlp_events, otlp=True)),
        )
    return result, summary_get(live_server.url, api_key)


@pytest.mark.parametrize("otlp", [False, True], ids=["json", "json+claude-code-otlp"])
def test_summary_endpoint_equals_ground_truth(live_server, otlp):
    result, summary = send_simulation(live_server, SimulationConfig(sessions=90, seed=21, otlp=otlp), slug=f"sim-{otlp}")
    assert summary_mismatches(result.truth, summary) == []
    rows = {row["model_version"]: row for row in summary["model_versions"]}
    assert set(rows) == {"v1", "v2"}
    for version, truth in result.truth.items():  # spelled out: every headline metric, exactly
        for key in SUMMARY_KEYS:
            assert rows[version][key] == pytest.approx(truth[key], rel=1e-9), (version, key)
        assert truth["events"] > 0 and truth["tool_calls"] > 0 and truth["suggestions_accepted"] > 0
        assert all(truth["retention_checks"][label] > 0 for label in ("30s", "2m", "5m", "10m", "1h"))
    assert sum(r["events"] for r in rows.values()) == result.events_sent
    if otlp:
        assert result.events_otlp > 0
    # both retention reports reached the server: counts and content it compared itself
    reports = {("retained_chars" in e["payload"]) for e in result.events if e["type"] == "code.retention"}
    assert reports == {True, False}


def test_resending_the_same_run_changes_nothing(live_server):
    config = SimulationConfig(sessions=20, seed=4)
    api_key = api_key_create(org=organization_get_or_create(slug="sim-replay"))
    for _ in range(2):
        with TelemetrySender(live_server.url, api_key) as sender:
            result = simulate(config, responder=ReferenceResponder(), sink=lambda r, j, o: sender.add(j))
    assert summary_mismatches(result.truth, summary_get(live_server.url, api_key)) == []
