"""The dashboard's numbers, read from rollups, equal the same statistics computed from the raw
events of a simulated run (and the point values equal telemetry's counters_to_metrics)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import pytest

from dashboard.catalog import METRICS, RETENTION_METRICS, all_metrics, counters_for, headline_metrics
from dashboard.selectors import rollup_totals
from dashboard.stats import mean_estimate, ratio_of_sums_estimate, wilson_interval
from telemetry.selectors import COUNTER_FIELDS, counters_to_metrics
from telemetry.services import events_ingest, organization_get_or_create
from tests.dashboard.data import ACME_VERSIONS, simulated_events

pytestmark = pytest.mark.django_db


def _expected_from_events(events: list[dict]) -> dict[str, dict]:
    """Per version: retention pairs at 5 min, tool calls/errors, per-task tokens, decisions."""
    out: dict[str, dict] = defaultdict(lambda: {"pairs": [], "calls": 0, "errors": 0, "accepted": 0, "rejected": 0})
    task_tokens: dict[str, int] = defaultdict(int)
    finished: dict[str, str] = {}
    for e in events:
        version, p = e["model"]["version"], e["payload"]
        row = out[version]
        if e["type"] == "code.retention" and 300 <= p["elapsed_s"] < 600:
            row["pairs"].append((p["retained_chars"], p["total_chars"]))
        elif e["type"] == "tool.call":
            row["calls"] += 1
            row["errors"] += p["status"] == "error"
        elif e["type"] == "llm.usage":
            task_tokens[e["task_id"]] += p["input_tokens"] + p["output_tokens"] + p.get("cache_read_tokens", 0)
        elif e["type"] == "task.finished":
            finished[e["task_id"]] = version
        elif e["type"] == "suggestion.accepted":
            row["accepted"] += 1
        elif e["type"] == "suggestion.rejected":
            row["rejected"] += 1
    for task_id, version in finished.items():
        out[version].setdefault("tasks", []).append(task_tokens[task_id])
    return out


def test_rollup_estimates_equal_raw_event_statistics():
    org = organization_get_or_create(slug="exact")
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    events = simulated_events(versions=ACME_VERSIONS, sessions=120, hours=24, start=start, seed=21)
    for i in range(0, len(events), 1000):
        events_ingest(org=org, events=events[i:i + 1000])
    metrics = headline_metrics("5m")
    totals = {r["model_version"]: r for r in rollup_totals(org=org, counters=counters_for(metrics))}
    expected = _expected_from_events(events)
    assert set(totals) == {v.name for v in ACME_VERSIONS}
    for version, exp in expected.items():
        t = totals[version]
        pairs = exp["pairs"]
        raw_retention = ratio_of_sums_estimate(
            numerator=sum(y for y, _ in pairs), denominator=sum(x for _, x in pairs),
            numerator_sq=sum(y * y for y, _ in pairs), denominator_sq=sum(x * x for _, x in pairs),
            cross=sum(x * y for y, x in pairs), units=len(pairs),
        )
        got = RETENTION_METRICS["5m"].estimate(t)
        assert (got.value, got.low, got.high, got.n) == pytest.approx((raw_retention.value, raw_retention.low, raw_retention.high, raw_retention.n))
        assert METRICS["tool_call_error_rate"].estimate(t) == wilson_interval(exp["errors"], exp["calls"])
        tasks = exp["tasks"]
        raw_tokens = mean_estimate(total=sum(tasks), total_sq=sum(v * v for v in tasks), n=len(tasks))
        assert METRICS["tokens_per_task"].estimate(t) == raw_tokens
        assert METRICS["acceptance_rate"].estimate(t) == wilson_interval(exp["accepted"], exp["accepted"] + exp["rejected"])


def test_point_values_agree_with_counters_to_metrics():
    org = organization_get_or_create(slug="agree")
    events = simulated_events(versions=ACME_VERSIONS[:2], sessions=40, hours=6, start=datetime(2026, 11, 2, tzinfo=timezone.utc), seed=2)
    events_ingest(org=org, events=events[:1000])
    for row in rollup_totals(org=org, counters=list(COUNTER_FIELDS)):
        summary = counters_to_metrics(row)
        for label, metric in RETENTION_METRICS.items():
            assert metric.estimate(row).value == pytest.approx(summary["code_retention"][label])
        for key in ("tool_call_error_rate", "tokens_per_task", "acceptance_rate", "task_success_rate", "tokens_per_accepted_line"):
            assert METRICS[key].estimate(row).value == pytest.approx(summary[key]), key
        assert METRICS["code_unchanged_5m"].estimate(row).value == pytest.approx(summary["code_retention_unchanged"]["5m"])
        assert METRICS["code_mostly_unchanged_5m"].estimate(row).value == pytest.approx(summary["code_retention_mostly_unchanged"]["5m"])


def test_catalog_lists():
    assert [m.key for m in headline_metrics("1h")] == ["code_retention_1h", "tool_call_error_rate", "tokens_per_task", "acceptance_rate"]
    keys = [m.key for m in all_metrics("5m")]
    assert len(keys) == len(set(keys))
    assert {"code_retention_30s", "code_retention_1h", "task_success_rate", "feedback_positive_rate"} <= set(keys)
    assert set(counters_for(all_metrics())) <= set(COUNTER_FIELDS)


def test_intervals_stay_inside_the_possible_range():
    tiny = {"retention_5m_retained": 9, "retention_5m_total": 10, "retention_5m_retained_sq": 81, "retention_5m_total_sq": 100,
            "retention_5m_cross": 90, "retention_5m_checks": 2}
    e = RETENTION_METRICS["5m"].estimate({**tiny, "retention_5m_retained": 10, "retention_5m_retained_sq": 58, "retention_5m_cross": 70})
    assert 0.0 <= e.low <= e.value <= e.high <= 1.0
    tokens = METRICS["tokens_per_task"].estimate({"finished_task_tokens": 110, "finished_task_tokens_sq": 10_000 + 100, "tasks_finished": 2})
    assert tokens.low == 0.0
