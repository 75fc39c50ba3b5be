"""Property-based fuzzing of the ingestion endpoints: /api/v1/events, /v1/logs and /v1/metrics.

Whatever arrives, the answer is never a 5xx; every refusal explains itself (a JSON body with
a message, or a google.rpc.Status with one for OTLP); every refused event of a 202 batch is
listed with its index and field errors; an OTLP 200 is a decodable Export*ServiceResponse
whose partial_success, when set, counts rejections and says why.
"""
from __future__ import annotations

import copy
import gzip
import json
import math
from datetime import datetime
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest, ExportMetricsServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.metrics.v1.metrics_pb2 import (
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from rest_framework.test import APIClient

from telemetry import otlp
from telemetry.schemas import EVENT_TYPES
from telemetry.services import api_key_create, organization_get_or_create
from tests.factories import make_event
from tests.telemetry.fixtures.otlp_builders import MEDIA, T0, any_value, encode, fixture, status_of

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture
def client(settings):
    settings.TELEMETRY_INGEST_RATE = "1000000/minute"  # fuzz the handlers, not the throttle
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(org=organization_get_or_create(slug='fuzz'))}")
    return api


# ---------------------------------------------------------------- strategies

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, blacklist_categories=()), min_size=1, max_size=2)  # lone surrogates
    | st.sampled_from(["", "\x00", "NaN", "2026-11-20T10:15:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "é\u202e\U0001f600"])
)
keys = st.text(max_size=12) | st.sampled_from(["event_id", "type", "ts", "payload", "model", "\ud800"])
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4), max_leaves=12)
junk = (
    json_values
    | st.integers(min_value=0, max_value=22).map(lambda n: "x" * (2**n))  # up to 4 MiB: huge, still under the body limit
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300)
    | st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()).map(lambda d: d.isoformat())
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            paths.extend(_paths(child, prefix + (key,)))
    return paths


def _mutate(event: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """Remove, retype or add a field somewhere in the event (a few times)."""
    event = copy.deepcopy(event)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        paths = _paths(event)
        path = data.draw(st.sampled_from(paths), label="path")
        parent = event
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["remove", "replace", "add"]), label="action")
        if action == "remove":
            parent.pop(path[-1], None)
        elif action == "replace":
            value = data.draw(junk, label="value")
            parent[path[-1]] = value
        else:
            parent[data.draw(st.text(max_size=10), label="new key")] = data.draw(json_values, label="new value")
    return event


def _event_batches(data: st.DataObject) -> list[Any]:
    events: list[Any] = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="batch size")):
        kind = data.draw(st.sampled_from(["valid", "mutated", "mutated", "junk"]), label="kind")
        event = make_event(data.draw(st.sampled_from(EVENT_TYPES), label="type"))
        if kind == "mutated":
            event = _mutate(event, data)
        elif kind == "junk":
            event = data.draw(json_values, label="junk event")
        events.append(event)
    return events


def _dumps(value: Any) -> bytes:
    # allow_nan: Python writes NaN/Infinity, which many clients also send although JSON has none.
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------- /api/v1/events


def assert_events_answer(response, sent: list[Any] | None = None) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])
    body = response.json()
    if response.status_code != 202:
        assert isinstance(body.get("message"), str) and body["message"], body
        assert isinstance(body.get("error"), str) and body["error"]
        return
    assert isinstance(body["accepted"], int)
    for item in body["rejected"]:
        assert isinstance(item["index"], int)
        assert item["errors"], item
        for error in item["errors"]:
            assert isinstance(error["field"], str) and error["field"], item
            assert isinstance(error["message"], str) and error["message"], item
    if sent is not None:
        assert body["accepted"] + len(body["rejected"]) == len(sent)
        assert len({item["index"] for item in body["rejected"]}) == len(body["rejected"])


@FUZZ
@given(value=json_values, wrap=st.booleans())
def test_events_endpoint_survives_arbitrary_json(client, value, wrap):
    response = client.post("/api/v1/events", data=_dumps({"events": value} if wrap else value), content_type="application/json")
    assert_events_answer(response)


@settings(FUZZ, max_examples=120)
@given(data=st.data())
def test_events_endpoint_survives_mutated_events(client, data):
    events = _event_batches(data)
    body = _dumps({"events": events})
    compressed = data.draw(st.booleans(), label="gzip")
    headers = {"HTTP_CONTENT_ENCODING": "gzip"} if compressed else {}
    response = client.post("/api/v1/events", data=gzip.compress(body) if compressed else body, content_type="application/json", **headers)
    assert_events_answer(response, events)


@FUZZ
@given(body=st.binary(max_size=2000), encoding=st.sampled_from([None, "gzip", "identity", "br"]))
def test_events_endpoint_survives_random_bytes(client, body, encoding):
    headers = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}
    assert_events_answer(client.post("/api/v1/events", data=body, content_type="application/json", **headers))


# ---------------------------------------------------------------- OTLP strategies

KNOWN_LOG_NAMES = sorted(otlp.LOG_MAPPERS) + ["tool_result", "api_request", "tool_decision", "gemini_cli.user_prompt", "x"]
KNOWN_KEYS = [
    "session.id", "prompt.id", "prompt_id", "model", "flywheel.model", "flywheel.model_version", "flywheel.event_id",
    "event.name", "event.timestamp", "tool_name", "tool_use_id", "success", "error", "error_type", "duration_ms",
    "decision", "source", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
    "function_name", "status", "input_token_count", "output_token_count", "cached_content_token_count",
    "thoughts_token_count", "tool_token_count", "metadata", "model_added_chars", "model_added_lines",
    "user_removed_chars", "elapsed_s", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.token.type", "gen_ai.request.model", "language", "user.email", "user.id", "os.type", "terminal.type",
    "service.name", "service.version", "tool_input",
]
RESOURCE_NAMES = st.sampled_from(["claude-code", "gemini-cli", "qwen-code", "acme-agent", ""])
ATTRIBUTE_SCALARS = st.sampled_from(["accept", "reject", "modify", "user_reject", "config", "true", "false", "input", "output",
                                     "Edit", "replace", "darwin", "cancelled", "shell_execute_error", "-5", "12", "NaN", ""])


def _any_values() -> st.SearchStrategy[AnyValue]:
    leaves = (
        st.text(max_size=30).map(lambda s: AnyValue(string_value=s))
        | ATTRIBUTE_SCALARS.map(lambda s: AnyValue(string_value=s))
        | st.booleans().map(lambda b: AnyValue(bool_value=b))
        | st.integers(min_value=-(2**63), max_value=2**63 - 1).map(lambda i: AnyValue(int_value=i))
        | st.floats(allow_nan=True, allow_infinity=True).map(lambda f: AnyValue(double_value=f))
        | st.binary(max_size=8).map(lambda b: AnyValue(bytes_value=b))
        | st.just(AnyValue())
    )
    return st.recursive(leaves, lambda children: (
        st.lists(children, max_size=3).map(lambda vs: AnyValue(array_value=ArrayValue(values=vs)))
        | st.lists(st.tuples(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), children), max_size=3).map(
            lambda kvs: AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kvs]))
        )
    ), max_leaves=3)


ANY_VALUES = _any_values()


def _attributes() -> st.SearchStrategy[list[KeyValue]]:
    pairs = st.lists(st.tuples(st.sampled_from(KNOWN_KEYS) | st.text(max_size=10), ANY_VALUES), max_size=6)
    return pairs.map(lambda kvs: [KeyValue(key=k, value=v) for k, v in kvs])


timestamps = st.one_of(st.just(0), st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=T0 - 10**12, max_value=T0 + 10**12))


# Plausible attributes per record kind: the fuzzer starts from these and then breaks them,
# so that it reaches the mapping, validation and storage paths, not only the rejections.
LOG_TEMPLATES: dict[str, dict[str, Any]] = {
    "claude_code.tool_result": {"tool_name": "Bash", "success": "false", "error_type": "ShellError", "duration_ms": 5, "tool_use_id": "t1"},
    "claude_code.api_request": {"input_tokens": 10, "output_tokens": 5, "cache_read_tokens": 1, "cache_creation_tokens": 0, "duration_ms": 100},
    "claude_code.tool_decision": {"tool_name": "Edit", "decision": "accept", "source": "user_temporary", "tool_use_id": "t2"},
    "claude_code.code_edit_tool.decision": {"tool_name": "Write", "decision": "reject", "language": "Python"},
    "gemini_cli.tool_call": {"function_name": "replace", "success": True, "decision": "accept",
                             "metadata": {"model_added_chars": 40, "model_added_lines": 2, "user_removed_chars": 5}},
    "qwen-code.tool_call": {"function_name": "run_shell_command", "success": False, "error_type": "shell_execute_error", "status": "error"},
    "gemini_cli.api_response": {"input_token_count": 100, "output_token_count": 10, "cached_content_token_count": 20, "thoughts_token_count": 3},
    "qwen-code.api_response": {"input_token_count": 7, "output_token_count": 1},
    "gen_ai.client.inference.operation.details": {"gen_ai.usage.input_tokens": 30, "gen_ai.usage.output_tokens": 3,
                                                  "gen_ai.usage.cache_read.input_tokens": 4},
    "gemini_cli.user_prompt": {"prompt_length": 3},
}


@st.composite
def broken_attributes(draw, template: dict[str, Any]) -> list[KeyValue]:
    """The template plus common attributes, then a few removed, retyped or added."""
    values = {"session.id": draw(st.sampled_from(["s-1", "s-2", ""])), "model": "m-1", "prompt.id": "p-1", **template}
    pairs = [KeyValue(key=k, value=any_value(v)) for k, v in values.items()]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        action = draw(st.sampled_from(["drop", "retype", "add"]))
        if action == "drop" and pairs:
            pairs.pop(draw(st.integers(min_value=0, max_value=len(pairs) - 1)))
        elif action == "retype" and pairs:
            pairs[draw(st.integers(min_value=0, max_value=len(pairs) - 1))].value.CopyFrom(draw(ANY_VALUES))
        else:
            pairs.append(KeyValue(key=draw(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8)), value=draw(ANY_VALUES)))
    return pairs


near_t0 = st.integers(min_value=0, max_value=10**12).map(lambda offset: T0 + offset)
record_times = st.one_of(near_t0, near_t0, timestamps)


@st.composite
def log_exports(draw) -> ExportLogsServiceRequest:
    resources = []
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        resource_attrs = [KeyValue(key="service.name", value=AnyValue(string_value=draw(RESOURCE_NAMES)))] + draw(_attributes())
        records = []
        for _ in range(draw(st.integers(min_value=0, max_value=4))):
            name = draw(st.sampled_from(KNOWN_LOG_NAMES))
            attrs = draw(broken_attributes(LOG_TEMPLATES.get(name, {})))
            attrs.append(KeyValue(key="event.name", value=AnyValue(string_value=name)))
            time = draw(record_times)
            record = LogRecord(
                time_unix_nano=time, observed_time_unix_nano=draw(st.sampled_from([0, time])), attributes=attrs,
                event_name=draw(st.sampled_from(["", name])), trace_id=draw(st.sampled_from([b"", b"\x01" * 16])),
                severity_number=draw(st.integers(min_value=0, max_value=24)),
            )
            if draw(st.booleans()):
                record.body.CopyFrom(draw(ANY_VALUES | st.just(AnyValue(string_value=name))))
            records.append(record)
        resources.append(ResourceLogs(resource=Resource(attributes=resource_attrs), scope_logs=[ScopeLogs(log_records=records)]))
    return ExportLogsServiceRequest(resource_logs=resources)


METRIC_TEMPLATES: dict[str, list[dict[str, Any]]] = {
    "gen_ai.client.token.usage": [{"gen_ai.request.model": "m-1", "gen_ai.token.type": "input"}, {"gen_ai.request.model": "m-1", "gen_ai.token.type": "output"}],
    "claude_code.code_edit_tool.decision": [{"decision": "accept", "source": "user_temporary", "tool_name": "Edit", "language": "Go"},
                                            {"decision": "reject", "source": "user_reject", "tool_name": "Write"}],
    "gemini_cli.file.operation.count": [{"operation": "update", "model_added_lines": 5, "user_removed_lines": 1}],
    "qwen-code.file.operation.count": [{"operation": "create", "ai_added_lines": 3}],
    "claude_code.token.usage": [{"type": "input"}],
    "anything.else": [{}],
}
point_values = st.one_of(st.integers(min_value=0, max_value=50).map(float), st.integers(min_value=0, max_value=50).map(float),
                         st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-5, max_value=5000).map(float))


@st.composite
def metric_exports(draw) -> ExportMetricsServiceRequest:
    metrics = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        name = draw(st.sampled_from(sorted(METRIC_TEMPLATES)))
        temporality = draw(st.sampled_from([1, 1, 2, 2, 0, 7]))
        start = draw(st.sampled_from([T0, 0]) | timestamps)
        points = []
        for _ in range(draw(st.integers(min_value=0, max_value=4))):
            attrs = draw(broken_attributes(draw(st.sampled_from(METRIC_TEMPLATES[name]))))
            points.append((attrs, draw(record_times), draw(point_values)))
        kind = draw(st.sampled_from(["histogram", "sum", "sum", "gauge", "none"]) if name != "gen_ai.client.token.usage" else st.sampled_from(["histogram", "histogram", "sum", "none"]))
        metric = Metric(name=name)
        if kind == "sum":
            metric.sum.CopyFrom(Sum(aggregation_temporality=temporality, is_monotonic=True, data_points=[
                NumberDataPoint(attributes=a, start_time_unix_nano=start, time_unix_nano=t, **({"as_double": v} if draw(st.booleans()) else {"as_int": int(v) if math.isfinite(v) and abs(v) < 2**62 else 0}))
                for a, t, v in points
            ]))
        elif kind == "histogram":
            metric.histogram.CopyFrom(Histogram(aggregation_temporality=temporality, data_points=[
                HistogramDataPoint(attributes=a, start_time_unix_nano=start, time_unix_nano=t, count=1, **({"sum": v} if draw(st.booleans()) else {}))
                for a, t, v in points
            ]))
        elif kind == "gauge":
            metric.gauge.CopyFrom(Gauge(data_points=[NumberDataPoint(attributes=a, time_unix_nano=t, as_double=v) for a, t, v in points]))
        metrics.append(metric)
    resource = {"service.name": draw(RESOURCE_NAMES)}
    if draw(st.booleans()):
        resource["flywheel.model"] = "m-2"
    resource_attrs = [KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in resource.items()] + draw(_attributes())
    return ExportMetricsServiceRequest(resource_metrics=[ResourceMetrics(resource=Resource(attributes=resource_attrs), scope_metrics=[ScopeMetrics(metrics=metrics)])])


# ---------------------------------------------------------------- OTLP assertions

ANSWERS = {"/v1/logs": (ExportLogsServiceResponse, "rejected_log_records"), "/v1/metrics": (ExportMetricsServiceResponse, "rejected_data_points")}


def assert_otlp_answer(response, path: str, encoding: str) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])
    answer_encoding = encoding if response.status_code != 415 else "json"
    assert response["Content-Type"] == MEDIA[answer_encoding]
    if response.status_code != 200:
        assert status_of(response, answer_encoding).message
        return
    answer_class, rejected_field = ANSWERS[path]
    message = answer_class()
    if encoding == "protobuf":
        message.ParseFromString(response.content)
    else:
        json_format.Parse(response.content, message)
    if message.HasField("partial_success"):
        assert getattr(message.partial_success, rejected_field) > 0
        assert message.partial_success.error_message


def post_otlp(client, path: str, body: bytes, encoding: str, compressed: bool = False):
    headers = {"HTTP_CONTENT_ENCODING": "gzip"} if compressed else {}
    return client.post(path, data=gzip.compress(body) if compressed else body, content_type=MEDIA[encoding], **headers)


# ---------------------------------------------------------------- /v1/logs and /v1/metrics


@FUZZ
@given(path=st.sampled_from(sorted(ANSWERS)), body=st.binary(max_size=3000), compressed=st.booleans())
def test_otlp_endpoints_survive_random_protobuf_bytes(client, path, body, compressed):
    assert_otlp_answer(post_otlp(client, path, body, "protobuf", compressed), path, "protobuf")


@FUZZ
@given(path=st.sampled_from(sorted(ANSWERS)), value=json_values)
def test_otlp_endpoints_survive_arbitrary_json(client, path, value):
    assert_otlp_answer(post_otlp(client, path, _dumps(value), "json"), path, "json")


@FUZZ
@given(data=st.data(), encoding=st.sampled_from(["protobuf", "json"]))
def test_otlp_endpoints_survive_mutated_valid_exports(client, data, encoding):
    """Flip, drop or insert bytes of real exports (a Gemini CLI sample; the gen_ai metrics sample)."""
    path = data.draw(st.sampled_from(sorted(ANSWERS)), label="path")
    sample = "gemini_cli_logs.json" if path == "/v1/logs" else "gen_ai_metrics.json"
    decoded = otlp.logs_decode(fixture(sample), "json") if path == "/v1/logs" else otlp.metrics_decode(fixture(sample), "json")
    body = bytearray(encode(decoded, encoding))
    for _ in range(data.draw(st.integers(min_value=1, max_value=6), label="edits")):
        position = data.draw(st.integers(min_value=0, max_value=max(0, len(body) - 1)), label="position")
        action = data.draw(st.sampled_from(["flip", "drop", "insert"]), label="action")
        if action == "flip" and body:
            body[position] ^= data.draw(st.integers(min_value=1, max_value=255), label="mask")
        elif action == "drop":
            del body[position:position + data.draw(st.integers(min_value=1, max_value=40), label="length")]
        else:
            body[position:position] = data.draw(st.binary(min_size=1, max_size=20), label="bytes")
    assert_otlp_answer(post_otlp(client, path, bytes(body), encoding), path, encoding)


@settings(FUZZ, max_examples=70)
@given(export=log_exports(), encoding=st.sampled_from(["protobuf", "json"]))
def test_logs_endpoint_survives_schema_shaped_exports(client, export, encoding):
    response = post_otlp(client, "/v1/logs", encode(export, encoding), encoding)
    assert_otlp_answer(response, "/v1/logs", encoding)
    if response.status_code == 200:
        total = sum(len(s.log_records) for r in export.resource_logs for s in r.scope_logs)
        assert _rejected(response, ExportLogsServiceResponse, encoding, "rejected_log_records") <= total


@settings(FUZZ, max_examples=70)
@given(export=metric_exports(), encoding=st.sampled_from(["protobuf", "json"]))
def test_metrics_endpoint_survives_schema_shaped_exports(client, settings, export, encoding):
    settings.TELEMETRY_OTLP_FACTS_FROM_METRICS = True
    response = post_otlp(client, "/v1/metrics", encode(export, encoding), encoding)
    assert_otlp_answer(response, "/v1/metrics", encoding)


def _rejected(response, answer_class, encoding: str, field_name: str) -> int:
    message = answer_class()
    if encoding == "protobuf":
        message.ParseFromString(response.content)
    else:
        json_format.Parse(response.content, message)
    return getattr(message.partial_success, field_name)


def test_extreme_timestamps_in_events_are_not_5xx(client):
    """Offsets that push a date past year 1 or 9999 once converted to UTC."""
    for ts in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-11-20T10:15:00", "not a date"):
        response = client.post("/api/v1/events", data=json.dumps({"events": [make_event(ts=None) | {"ts": ts}]}), content_type="application/json")
        assert_events_answer(response)


def test_non_finite_numbers_in_events_are_not_5xx(client):
    for number in ("NaN", "Infinity", "-Infinity"):
        event = make_event("tool.call")
        body = json.dumps({"events": [event]}).replace('"duration_ms": 120', f'"duration_ms": {number}')
        assert_events_answer(client.post("/api/v1/events", data=body, content_type="application/json"))


def test_nul_characters_in_events_are_not_5xx(client):
    event = make_event("tool.call", session_id="a\x00b")
    event["payload"]["arguments"] = "ls\x00-la"
    assert_events_answer(client.post("/api/v1/events", data=json.dumps({"events": [event]}), content_type="application/json"))



@pytest.mark.parametrize("path", ["/api/v1/events", "/v1/logs", "/v1/metrics"])
def test_deeply_nested_json_is_not_5xx(client, path):
    too_deep = b"[" * 100_000 + b"]" * 100_000
    response = client.post(path, data=too_deep, content_type="application/json")
    assert response.status_code == 400
    assert_events_answer(response) if path == "/api/v1/events" else assert_otlp_answer(response, path, "json")
    deep_but_parseable = make_event("tool.call")
    nested: list = []
    for _ in range(500):
        nested = [nested]
    deep_but_parseable["payload"]["extra"] = nested
    if path == "/api/v1/events":
        assert_events_answer(client.post(path, data=json.dumps({"events": [deep_but_parseable]}), content_type="application/json"))


def test_lone_surrogates_in_events_are_not_5xx(client):
    """JSON may escape a lone UTF-16 surrogate (\\ud800); no database can store one."""
    event = make_event("tool.call")
    for escaped in ('"sess-\\ud800"', '"sess-\\udfff-\\u0000"'):
        body = json.dumps({"events": [event]}).replace('"sess-1"', escaped)
        response = client.post("/api/v1/events", data=body, content_type="application/json")
        assert_events_answer(response)
        assert response.json()["rejected"][0]["errors"][0]["field"] == "session_id"
    nested = json.dumps({"events": [event]}).replace('"python"', '{"\\ud83d": "x"}')  # repo.language as an object
    assert_events_answer(client.post("/api/v1/events", data=nested, content_type="application/json"))


def test_lone_surrogates_echoed_back_are_not_5xx(client):
    """A refused event's event_id is echoed in the answer, which must still encode."""
    body = json.dumps({"events": [make_event("tool.call", event_id="x")]}).replace('"event_id": "x"', '"event_id": "\\ud800"')
    response = client.post("/api/v1/events", data=body, content_type="application/json")
    assert_events_answer(response)
