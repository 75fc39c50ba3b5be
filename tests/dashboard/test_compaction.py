"""Daily compaction: reading whole days from the daily tables gives the same payloads as
reading the hourly rollups, for every endpoint and time range; late events are picked up."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from django.core.management import call_command
from django.db import transaction

from dashboard import selectors
from dashboard.compaction import compaction_watermark, day_floor, rollups_compact
from dashboard.models import (
    CompactedDay,
    CompactedVersion,
    DailyRollup,
    DailyToolErrorRollup,
    RollupCompaction,
    SliceDailyRollup,
    VersionHourRollup,
)
from telemetry.models import HourlyRollup
from telemetry.services import events_ingest, organization_get_or_create
from tests.dashboard.data import ACME_VERSIONS, simulated_events
from tests.factories import make_event

pytestmark = pytest.mark.django_db

NOW = datetime.now(timezone.utc)
TODAY = day_floor(NOW)


@pytest.fixture
def org():
    org = organization_get_or_create(slug="compact")
    events = simulated_events(versions=ACME_VERSIONS, sessions=220, hours=3 * 24 + min(NOW.hour, 6), start=TODAY - timedelta(days=3), seed=4)
    for i in range(0, len(events), 1000):
        events_ingest(org=org, events=events[i:i + 1000])
    return org


def payloads(org) -> str:
    """Every endpoint's payload for a spread of ranges, as canonical JSON."""
    mid = TODAY - timedelta(days=2) + timedelta(hours=7, minutes=30)
    ranges = [
        {}, {"since": mid}, {"until": mid + timedelta(days=1)}, {"since": mid, "until": TODAY - timedelta(hours=3)},
        {"since": TODAY - timedelta(days=2)}, {"since": NOW - timedelta(hours=24)}, {"until": TODAY},
    ]
    out = {"versions": selectors.dashboard_versions(org=org)}
    for i, r in enumerate(ranges):
        out[f"overview{i}"] = selectors.overview_get(org=org, **r)
        out[f"compare{i}"] = selectors.compare_get(org=org, **r)
        out[f"trends_day{i}"] = selectors.trends_get(org=org, bucket="day", **r)
        out[f"trends_hour{i}"] = selectors.trends_get(org=org, bucket="hour", **r)
        out[f"windows{i}"] = selectors.breakdown_get(org=org, dimension="shell", filters={"os": "windows", "tool": "shell"}, **r)
        out[f"errors{i}"] = selectors.tool_errors_get(org=org, **r)
        for dimension in selectors.DIMENSIONS:
            out[f"{dimension}{i}"] = selectors.breakdown_get(org=org, dimension=dimension, versions=[ACME_VERSIONS[1].name], **r)
    return json.dumps(out, sort_keys=True, default=str)


def hourly_only(org) -> str:
    """The payloads with the compaction ignored (rolled back afterwards)."""
    with transaction.atomic():
        RollupCompaction.objects.filter(org=org).delete()
        CompactedVersion.objects.filter(org=org).delete()
        assert compaction_watermark(org=org) is None
        result = payloads(org)
        transaction.set_rollback(True)
    return result


def test_compacted_reads_equal_hourly_reads_for_every_endpoint_and_range(org):
    before = payloads(org)
    result = rollups_compact(org=org, now=NOW)
    assert result.compacted_until == TODAY and result.days_rebuilt == result.days_checked >= 3
    assert compaction_watermark(org=org) == TODAY
    for model in (DailyRollup, DailyToolErrorRollup, VersionHourRollup, SliceDailyRollup):
        assert model.objects.filter(org=org).exists(), model.__name__
    assert HourlyRollup.objects.filter(org=org).count() > DailyRollup.objects.filter(org=org).count()
    assert payloads(org) == before
    # Idempotent: nothing to rebuild when nothing changed.
    assert rollups_compact(org=org, now=NOW).days_rebuilt == 0


def test_late_events_for_a_compacted_day_are_picked_up_by_the_next_run(org):
    rollups_compact(org=org, now=NOW)
    two_days_ago = TODAY - timedelta(days=2) + timedelta(hours=5)
    version = ACME_VERSIONS[0].name
    events_ingest(org=org, events=[
        make_event("tool.call", version=version, ts=two_days_ago, payload={"tool": "shell", "status": "error", "error_kind": "timeout"}),
        make_event("llm.usage", version=version, ts=two_days_ago, task_id="late-task"),
        make_event("task.finished", version=version, ts=two_days_ago, task_id="late-task"),
    ])
    assert payloads(org) != hourly_only(org)  # stale until the next compaction...
    assert rollups_compact(org=org, now=NOW).days_rebuilt == 1
    assert payloads(org) == hourly_only(org)  # ...which makes them equal again
    # Tokens reaching a finished task on a compacted day change only that day's token sum.
    events_ingest(org=org, events=[make_event("llm.usage", version=version, ts=TODAY + timedelta(minutes=1), task_id="late-task")])
    assert rollups_compact(org=org, now=NOW).days_rebuilt == 1
    assert payloads(org) == hourly_only(org)


def test_a_new_day_moves_the_watermark(org):
    rollups_compact(org=org, now=NOW - timedelta(days=1))
    assert compaction_watermark(org=org) == TODAY - timedelta(days=1)
    assert payloads(org) == hourly_only(org)
    result = rollups_compact(org=org, now=NOW)
    assert result.days_rebuilt == 1 and compaction_watermark(org=org) == TODAY
    assert CompactedDay.objects.filter(org=org).count() == result.days_checked
    assert payloads(org) == hourly_only(org)


def test_command_compacts_every_org(org, capsys):
    call_command("compact_rollups")
    assert "compact: compacted until" in capsys.readouterr().out
    assert compaction_watermark(org=org) == TODAY
