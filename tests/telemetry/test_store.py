"""The idempotent store and its incremental rollups, checked against a brute-force oracle."""
from __future__ import annotations

import json
import random
from datetime import datetime, timezone

import pytest

from telemetry.messages import message_encode
from telemetry.models import DeadLetter, Event, HourlyRollup, Task, ToolErrorRollup
from telemetry.selectors import metrics_summary
from telemetry.services import dead_letters_replay, event_normalize, events_ingest, organization_get_or_create
from telemetry.store import messages_store
from telemetry.synthetic import burst
from tests.factories import make_event
from tests.telemetry.ground_truth import ground_truth

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return organization_get_or_create(slug="acme")


def assert_summary_matches(org, events):
    truth = ground_truth(events)
    summary = {row["model_version"]: row for row in metrics_summary(org=org)}
    assert set(summary) == set(truth)
    for version, expected in truth.items():
        got = summary[version]
        assert got["events"] == expected["events"]
        for metric in ("tool_call_error_rate", "acceptance_rate", "tokens_per_task"):
            assert got[metric] == pytest.approx(expected[metric]), metric
        for label, value in expected["code_retention"].items():
            assert got["code_retention"][label] == pytest.approx(value), label


def test_rollups_equal_brute_force_metrics(org):
    events = burst(seed=3, sessions=60, versions={"v1": 0.3, "v2": 0.8})
    for start in range(0, len(events), 250):
        events_ingest(org=org, events=events[start:start + 250])
    assert_summary_matches(org, events)


def test_rollups_survive_shuffled_and_repeated_delivery(org):
    """Late tokens (after task.finished) and redelivered batches must not change the result."""
    events = burst(seed=4, sessions=30, versions={"v1": 0.5})
    shuffled = events[:]
    random.Random(1).shuffle(shuffled)
    for start in range(0, len(shuffled), 97):
        batch = shuffled[start:start + 97]
        events_ingest(org=org, events=batch)
        events_ingest(org=org, events=batch[: len(batch) // 2])  # a partial redelivery
    assert Event.objects.count() == len(events)
    assert_summary_matches(org, events)


def test_a_task_finished_twice_counts_once(org):
    usage = make_event("llm.usage", task_id="t9", payload={"input_tokens": 10, "output_tokens": 5})
    first = make_event("task.finished", task_id="t9")
    second = make_event("task.finished", task_id="t9", payload={"outcome": "failure"})
    late = make_event("llm.usage", task_id="t9", payload={"input_tokens": 1, "output_tokens": 1})
    events_ingest(org=org, events=[usage, first])
    events_ingest(org=org, events=[second, late])
    [row] = metrics_summary(org=org)
    assert row["tasks_finished"] == 1
    assert row["tokens_per_task"] == 17
    assert row["task_success_rate"] == 1.0
    assert Task.objects.get(task_id="t9").outcome == "success"


def test_tool_errors_are_rolled_up_by_kind(org):
    events_ingest(org=org, events=[
        make_event("tool.call", payload={"tool": "shell", "status": "error", "error_kind": "invalid_for_shell"}, os="windows", shell="cmd"),
        make_event("tool.call", payload={"tool": "shell", "status": "error", "error_kind": "invalid_for_shell"}, os="windows", shell="cmd"),
        make_event("tool.call", payload={"tool": "shell", "status": "error", "error_kind": "timeout"}, os="windows", shell="cmd"),
    ])
    kinds = dict(ToolErrorRollup.objects.values_list("error_kind", "count"))
    assert kinds == {"invalid_for_shell": 2, "timeout": 1}
    row = HourlyRollup.objects.get()
    assert (row.os, row.shell, row.tool, row.tool_calls, row.tool_errors) == ("windows", "cmd", "shell", 3, 3)


def test_content_capture_off_drops_code_and_hashes_users(org):
    event = make_event("suggestion.accepted", payload={"suggestion_id": "s", "lines": 1, "chars": 10, "code": "x = 1"})
    events_ingest(org=org, events=[event])
    stored = Event.objects.get()
    assert "code" not in stored.payload
    assert stored.user_hash and "alice" not in stored.user_hash


def test_content_capture_full_keeps_code_without_secrets(org):
    org.content_capture = "full"
    org.save()
    code = "AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\nprint(1)\n"
    event = make_event("suggestion.accepted", payload={"suggestion_id": "s", "lines": 2, "chars": len(code), "code": code})
    events_ingest(org=org, events=[event])
    stored = Event.objects.get().payload["code"]
    assert "print(1)" in stored and "AKIAIOSFODNN7EXAMPLE" not in stored


def test_server_computes_retention_from_content_and_drops_it(org):
    original = "def add(a, b):\n    return a + b\n"
    event = make_event("code.retention", payload={"suggestion_id": "s", "elapsed_s": 300, "original_content": original, "current_content": "# x\n" + original})
    events_ingest(org=org, events=[event])
    payload = Event.objects.get().payload
    assert payload["retained_chars"] == payload["total_chars"] == len(original)
    assert payload["unchanged"] is True
    assert "original_content" not in payload and "current_content" not in payload
    assert HourlyRollup.objects.get().retention_5m_retained == len(original)


def test_poison_messages_are_dead_lettered_and_replayable(org):
    good = message_encode(org_id=org.id, received_at=datetime.now(timezone.utc), event=make_event())
    unknown_org = message_encode(org_id=org.id + 999, received_at=datetime.now(timezone.utc), event=make_event())
    result = messages_store(messages=[("k", b"\xff not json"), (good.key, good.value), (unknown_org.key, unknown_org.value)])
    assert result.inserted == 1
    assert sorted(d.reason for d in result.dead_letters) == ["undecodable", "unknown_org"]
    # The embedded bus keeps dead letters in a table; replaying after the org exists stores it.
    from telemetry.bus import InProcessBus

    InProcessBus().dead_letter(result.dead_letters)
    body = json.loads(unknown_org.value)
    organization_get_or_create(slug="late").__class__.objects.filter(slug="late").update(id=body["org_id"])
    assert dead_letters_replay() == 2
    assert Event.objects.count() == 2
    assert DeadLetter.objects.filter(replayed_at__isnull=True).count() == 1  # the undecodable one, again


def test_a_message_that_fails_to_store_is_isolated_not_fatal(org):
    now = datetime.now(timezone.utc)
    good = [message_encode(org_id=org.id, received_at=now, event=make_event()) for _ in range(6)]
    # Decodes, but was never normalized: the retention counters it needs are missing.
    raw_retention = make_event("code.retention")
    poison = message_encode(org_id=org.id, received_at=now, event=raw_retention)
    messages = [(m.key, m.value) for m in good[:3]] + [(poison.key, poison.value)] + [(m.key, m.value) for m in good[3:]]
    result = messages_store(messages=messages)
    assert result.inserted == 6
    assert [d.reason for d in result.dead_letters] == ["store_failed"]
    assert "KeyError" in result.dead_letters[0].detail
    assert Event.objects.count() == 6


def test_an_uppercase_event_id_is_stored_once_and_counted_once(org):
    """The schema's uuid format accepts upper case; the database keeps its canonical form."""
    event = make_event()
    event["event_id"] = event["event_id"].upper()
    message = message_encode(org_id=org.id, received_at=datetime.now(timezone.utc), event=event)
    first = messages_store(messages=[(message.key, message.value)])
    again = messages_store(messages=[(message.key, message.value)])
    assert (first.inserted, first.dead_letters) == (1, [])
    assert (again.inserted, again.duplicates, again.dead_letters) == (0, 1, [])
    assert str(Event.objects.get().event_id) == event["event_id"].lower()
    assert HourlyRollup.objects.get().events == 1


def test_a_batch_with_new_and_already_stored_events_counts_only_the_new(org):
    """Inserted rows are matched back by position: only they add to the rollups, in order."""
    now = datetime.now(timezone.utc)
    events = [make_event() for _ in range(5)]
    stored = [message_encode(org_id=org.id, received_at=now, event=e) for e in events[1:4]]
    messages_store(messages=[(m.key, m.value) for m in stored])
    every = [message_encode(org_id=org.id, received_at=now, event=e) for e in events]
    result = messages_store(messages=[(m.key, m.value) for m in every])
    assert (result.inserted, result.duplicates) == (2, 3)
    assert Event.objects.count() == 5
    assert HourlyRollup.objects.get().events == 5


def test_an_event_twice_in_one_batch_is_stored_and_counted_once(org):
    """A client resend and its original can meet in one consumer poll."""
    events = burst(seed=6, sessions=4, versions={"v1": 0.5})
    doubled = events + events[:9] + [{**events[9], "event_id": events[9]["event_id"].upper()}]
    now = datetime.now(timezone.utc)
    encoded = [message_encode(org_id=org.id, received_at=now, event=event_normalize(org=org, event=event)) for event in doubled]
    result = messages_store(messages=[(m.key, m.value) for m in encoded])
    assert (result.inserted, result.duplicates) == (len(events), 10)
    assert Event.objects.count() == len(events)
    assert_summary_matches(org, events)
