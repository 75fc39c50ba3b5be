"""The compiled validator (jsonschema-rs) agrees with jsonschema on the event schema.

``event_validate`` trusts the compiled verdict "valid" without asking jsonschema, so a
single event the compiled validator accepts and jsonschema refuses would be a hole. The
other direction only costs time (jsonschema is then asked, and decides), but it must not
happen for ordinary JSON either, or the fast path would be useless.
"""
from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry import schemas
from tests.factories import DEFAULT_PAYLOADS, make_event
from tests.telemetry.test_fuzz_endpoints import _mutate, junk

AGREE = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def jsonschema_valid(event: Any) -> bool:
    return not any(True for _ in schemas._validator.iter_errors(event))


def plain_json(value: Any) -> bool:
    """Values any strict JSON parser yields: finite numbers, 64-bit integers, no lone surrogates."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**64
    if isinstance(value, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, list):
        return all(plain_json(v) for v in value)
    if isinstance(value, dict):
        return all(plain_json(k) and plain_json(v) for k, v in value.items())
    return False


def assert_agree(event: Any) -> None:
    compiled, reference = schemas._compiled_valid(event), jsonschema_valid(event)
    if compiled:
        assert reference, f"compiled validator accepts what jsonschema refuses: {event!r}"
    elif plain_json(event):
        assert not reference, f"compiled validator refuses what jsonschema accepts: {event!r}"


@AGREE
@given(data=st.data(), event_type=st.sampled_from(schemas.EVENT_TYPES))
def test_compiled_validator_agrees_on_mutated_events(data, event_type):
    assert_agree(_mutate(make_event(event_type), data))


@AGREE
@given(data=st.data(), event_type=st.sampled_from(schemas.EVENT_TYPES))
def test_compiled_validator_agrees_on_mutated_payloads(data, event_type):
    """Payload fields of the type's own schema removed, added or retyped: where the per-type
    rules (oneOf, if/then, pairs of counts, enums, ranges) live."""
    event = make_event(event_type)
    payload = event["payload"]
    known = sorted(schemas.PAYLOAD_SCHEMAS[event_type]["properties"])
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="edits")):
        name = data.draw(st.sampled_from(known), label="field")
        action = data.draw(st.sampled_from(["remove", "junk", "number", "text"]), label="action")
        if action == "remove":
            payload.pop(name, None)
        elif action == "junk":
            payload[name] = data.draw(junk, label="value")
        elif action == "number":
            payload[name] = data.draw(st.integers(min_value=-5, max_value=10**9 + 5) | st.floats(min_value=-1, max_value=4e6), label="value")
        else:
            payload[name] = data.draw(st.sampled_from(["", "x", "error", "success", "up", "failure", "timeout"]), label="value")
    assert_agree(event)


def test_every_event_type_has_a_valid_default_and_the_validators_agree_on_it():
    assert set(DEFAULT_PAYLOADS) == set(schemas.EVENT_TYPES)
    for event_type in schemas.EVENT_TYPES:
        event = make_event(event_type)
        assert schemas._compiled_valid(event) and jsonschema_valid(event)
        assert schemas.event_validate(event) == []


def test_formats_are_the_format_checkers_own():
    """uuid and date-time: jsonschema's own checks, called back from the compiled validator."""
    for event_id, ok in [("0b6f4f6e-5d1a-4a53-9f1e-2b7d8c1e9a10", True), ("0b6f4f6e5d1a4a539f1e2b7d8c1e9a10", False),
                         ("0B6F4F6E-5D1A-4A53-9F1E-2B7D8C1E9A10", True), ("0b6f4f6e-5d1a-4a53-9f1e-2b7d8c1e9a1g", False),
                         # jsonschema's uuid rule accepts an extra hyphen after the fourth group; so must we
                         ("0b6f4f6e-5d1a-4a53-9f1e-2b7d-8c1e9a10", True), ("not-a-uuid", False)]:
        assert_agree(make_event(event_id=event_id))
        assert schemas._compiled_valid(make_event(event_id=event_id)) is ok
    for ts, ok in [("2026-11-20T10:15:00+00:00", True), ("2026-11-20T10:15:00Z", True), ("2026-11-20T10:15:00", False),
                   ("0001-01-01T00:00:00+14:00", False), ("yesterday", False)]:
        event = make_event()
        event["ts"] = ts
        assert_agree(event)
        assert schemas._compiled_valid(event) is ok


def test_retention_counts_come_in_pairs():
    """total_chars without retained_chars (or the reverse) is refused with the missing field named."""
    base = {"suggestion_id": "s", "elapsed_s": 300}
    for payload, missing in [({**base, "total_chars": 60, "original_content": "a", "current_content": "a"}, "payload.retained_chars"),
                             ({**base, "total_chars": 60}, "payload.retained_chars"),
                             ({**base, "retained_chars": 6}, "payload.total_chars")]:
        event = make_event("code.retention", payload=copy.deepcopy(payload))
        assert_agree(event)
        assert missing in {error.field for error in schemas.event_validate(event)}
