"""The OTLP/HTTP traces receiver, POST /v1/traces: gen_ai spans become events; the vendor
CLIs' spans (which repeat their log events) are accepted and ignored, never a 404."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from telemetry.models import Event
from telemetry.services import organization_get_or_create
from tests.factories import api_client_for
from tests.telemetry.fixtures.otlp_builders import SECOND, T0, attributes, decode, encode, post

pytestmark = pytest.mark.django_db
ENCODINGS = ["protobuf", "json"]


@pytest.fixture
def org():
    return organization_get_or_create(slug="traces")


def span(name: str, attrs: dict, *, start: int = T0, seconds: float = 1.5, status: Status | None = None, span_id: bytes = b"\x01" * 8) -> Span:
    return Span(
        trace_id=b"\x0a" * 16, span_id=span_id, name=name, kind=Span.SPAN_KIND_CLIENT, attributes=attributes(attrs),
        start_time_unix_nano=start, end_time_unix_nano=start + int(seconds * SECOND), status=status or Status(),
    )


def traces_export(resource: dict, spans: list[Span]) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource=Resource(attributes=attributes(resource)),
        scope_spans=[ScopeSpans(scope=InstrumentationScope(name="acme.agent"), spans=spans)],
    )])


AGENT = {"service.name": "acme-agent", "flywheel.model_version": "acme-coder@2026-11"}
CHAT = {
    "gen_ai.operation.name": "chat", "gen_ai.request.model": "acme-coder", "gen_ai.response.model": "acme-coder-0611",
    "gen_ai.conversation.id": "conv-1", "gen_ai.usage.input_tokens": 1500, "gen_ai.usage.output_tokens": 120,
    "gen_ai.usage.cache_read.input_tokens": 400, "gen_ai.response.id": "resp-1",
}
TOOL = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "shell", "gen_ai.conversation.id": "conv-1",
        "gen_ai.tool.call.id": "call-1", "gen_ai.request.model": "acme-coder"}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_gen_ai_spans_become_events(org, encoding):
    export = traces_export(AGENT, [
        span("chat acme-coder", CHAT),
        span("execute_tool shell", TOOL, start=T0 + 2 * SECOND, seconds=0.25, span_id=b"\x02" * 8,
             status=Status(code=Status.STATUS_CODE_ERROR, message="exit code 127: command not found")),
        span("execute_tool read_file", {**TOOL, "gen_ai.tool.name": "read_file", "gen_ai.tool.call.id": "call-2"},
             start=T0 + 3 * SECOND, seconds=0.01, span_id=b"\x03" * 8, status=Status(code=Status.STATUS_CODE_OK)),
        span("GET /healthz", {"http.request.method": "GET"}, span_id=b"\x04" * 8),  # not a gen_ai span: ignored
    ])
    response = post(api_client_for(org), "/v1/traces", encode(export, encoding), encoding)
    assert response.status_code == 200, response.content
    assert not decode(response, ExportTraceServiceResponse, encoding).HasField("partial_success")

    usage = Event.objects.get(org=org, type="llm.usage")
    # semconv's input_tokens include the cached part
    assert usage.payload == {"input_tokens": 1100, "output_tokens": 120, "cache_read_tokens": 400, "latency_ms": 1500.0, "request_id": "resp-1"}
    assert (usage.session_id, usage.model_name, usage.model_version) == ("conv-1", "acme-coder-0611", "acme-coder@2026-11")
    failed = Event.objects.get(org=org, type="tool.call", tool="shell").payload
    assert (failed["status"], failed["error_kind"], failed["exit_code"], failed["duration_ms"]) == ("error", "invalid_for_shell", 127, 250.0)
    assert Event.objects.get(org=org, type="tool.call", tool="read_file").payload["status"] == "success"
    # The same export again stores nothing new: event ids derive from the spans.
    assert post(api_client_for(org), "/v1/traces", encode(export, encoding), encoding).status_code == 200
    assert Event.objects.filter(org=org).count() == 3


@pytest.mark.parametrize("service", ["claude-code", "gemini-cli", "qwen-code"])
def test_vendor_cli_spans_are_accepted_and_ignored(org, service):
    """Their logs already carry these tokens and tool calls: counting the spans too would double them."""
    export = traces_export({"service.name": service}, [span("claude_code.llm_request", CHAT), span("tool", TOOL, span_id=b"\x02" * 8)])
    response = post(api_client_for(org), "/v1/traces", encode(export, "json"), "json")
    assert response.status_code == 200
    assert not decode(response, ExportTraceServiceResponse, "json").HasField("partial_success")
    assert not Event.objects.filter(org=org).exists()


def test_an_invalid_span_is_rejected_in_partial_success(org):
    export = traces_export(AGENT, [
        span("chat", {**CHAT, "gen_ai.usage.output_tokens": -5}),
        span("chat", {**CHAT, "gen_ai.response.id": "resp-2"}, span_id=b"\x02" * 8),
    ])
    response = post(api_client_for(org), "/v1/traces", encode(export, "protobuf"), "protobuf")
    assert response.status_code == 200
    partial = decode(response, ExportTraceServiceResponse, "protobuf").partial_success
    assert partial.rejected_spans == 1 and "payload.output_tokens" in partial.error_message
    assert Event.objects.filter(org=org, type="llm.usage").count() == 1


def test_traces_endpoint_is_authenticated_and_documented(client, org):
    assert post(client, "/v1/traces", b"{}", "json").status_code == 401
    paths = api_client_for(org).get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    operation = paths["/v1/traces"]["post"]
    assert {"200", "400", "401", "413", "415"} <= set(operation["responses"])


# ---------------------------------------------------------------- fuzzing the span mapping

_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["chat", "execute_tool", "shell", "Exit Code: 127", "12", "-3", "NaN"]),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
)
_keys = st.sampled_from([
    "gen_ai.operation.name", "gen_ai.tool.name", "gen_ai.tool.call.id", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_creation.input_tokens", "gen_ai.request.model",
    "gen_ai.response.model", "gen_ai.conversation.id", "error.type", "error.message", "otel.status_code", "duration_ms",
    "session.id", "exit_code", "metadata", "flywheel.event_id",
])
_times = st.one_of(st.just(0), st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=T0 - SECOND, max_value=T0 + 60 * SECOND))


@st.composite
def gen_ai_spans(draw) -> Span:
    attrs = draw(st.dictionaries(_keys, _values, max_size=8))
    attrs.setdefault("gen_ai.operation.name", draw(st.sampled_from(["chat", "execute_tool", "generate_content", "embeddings"])))
    attrs = {k: v for k, v in attrs.items() if v is not None}
    status = Status(code=draw(st.sampled_from([0, 1, 2])), message=draw(st.text(max_size=30)))
    start, end = draw(_times), draw(_times)
    return Span(trace_id=draw(st.binary(min_size=16, max_size=16)), span_id=draw(st.binary(min_size=8, max_size=8)), name="fuzz",
                attributes=attributes(attrs), start_time_unix_nano=start, end_time_unix_nano=end, status=status)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spans=st.lists(gen_ai_spans(), min_size=1, max_size=4), service=st.sampled_from(["acme-agent", "claude-code"]),
       encoding=st.sampled_from(ENCODINGS))
def test_arbitrary_gen_ai_spans_are_answered_200_never_5xx(org, spans, service, encoding):
    response = post(api_client_for(org), "/v1/traces", encode(traces_export({"service.name": service}, spans), encoding), encoding)
    assert response.status_code == 200, response.content
    answer = decode(response, ExportTraceServiceResponse, encoding)
    assert answer.partial_success.rejected_spans <= len(spans)
