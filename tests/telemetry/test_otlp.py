"""The OTLP/HTTP receivers (/v1/logs, /v1/metrics): real protobuf and OTLP/JSON through DRF."""
from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from rest_framework.test import APIClient

from telemetry import otlp
from tests.factories import api_client_for
from telemetry.bus import reset_bus
from telemetry.models import Event, HourlyRollup
from telemetry.schemas import TOOL_ERROR_KINDS
from telemetry.services import api_key_create, organization_get_or_create
from tests.telemetry.fixtures.otlp_builders import (
    SECOND,
    T0,
    counter,
    decode,
    encode,
    fixture,
    log_record,
    logs_export,
    metrics_export,
    post,
    status_of,
    token_histogram,
)

pytestmark = pytest.mark.django_db
ENCODINGS = ["protobuf", "json"]

CLAUDE_RESOURCE = {
    "service.name": "claude-code",
    "service.version": "2.1.214",
    "os.type": "darwin",
    "os.version": "25.2.0",
    "host.arch": "arm64",
}


@pytest.fixture
def org():
    return organization_get_or_create(slug="acme")


@pytest.fixture
def client(org):
    api = api_client_for(org)
    return api


def claude_common(session: str = "c-session-1", prompt: str = "c-prompt-1") -> dict:
    """Claude Code's standard attributes, on every event."""
    return {
        "session.id": session,
        "user.id": "a68801ea",
        "user.email": "alice@example.com",
        "organization.id": "14451454-16e1-4f42-8288-6b7f6130f659",
        "terminal.type": "vscode",
        "prompt.id": prompt,
    }


def claude_event(name: str, attrs: dict, *, seconds: int, **common) -> object:
    """A Claude Code log record: body 'claude_code.<name>', event.name '<name>' (unprefixed)."""
    return log_record(
        {**claude_common(**common), "event.name": name, "event.timestamp": "2026-11-20T10:15:00Z", "event.sequence": seconds, **attrs},
        time=T0 + seconds * SECOND,
        body=f"claude_code.{name}",
    )


def claude_export():
    """A realistic Claude Code logs export: 7 records, 5 of them become Flywheel events."""
    return logs_export(CLAUDE_RESOURCE, [
        claude_event("user_prompt", {"prompt_length": 42, "prompt": "<REDACTED>"}, seconds=0),
        claude_event("api_request", {
            "model": "claude-sonnet-4-5", "cost_usd": 0.021, "duration_ms": 2500, "input_tokens": 1200, "output_tokens": 300,
            "cache_read_tokens": 5000, "cache_creation_tokens": 100, "request_id": "req_011abc", "speed": "normal",
        }, seconds=1),
        claude_event("tool_decision", {"tool_name": "Edit", "tool_use_id": "toolu_01", "decision": "accept", "source": "user_temporary"}, seconds=2),
        claude_event("tool_result", {
            "tool_name": "Edit", "tool_use_id": "toolu_01", "success": "true", "duration_ms": 35, "decision_type": "accept",
            "decision_source": "user_temporary", "tool_result_size_bytes": 120,
        }, seconds=3),
        claude_event("tool_result", {
            "tool_name": "Bash", "tool_use_id": "toolu_02", "success": "false", "duration_ms": 1200, "error_type": "ShellError",
            "error": "Exit code 1", "decision_type": "accept", "decision_source": "config",
        }, seconds=4),
        claude_event("tool_decision", {"tool_name": "Write", "tool_use_id": "toolu_03", "decision": "reject", "source": "user_reject"}, seconds=5),
        claude_event("tool_decision", {"tool_name": "Read", "tool_use_id": "toolu_04", "decision": "accept", "source": "config"}, seconds=6),
    ], scope="com.anthropic.claude_code.events")


def rollup_sum(org, field: str) -> int:
    return sum(HourlyRollup.objects.filter(org=org).values_list(field, flat=True))


def events_by_type(org) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event_type in Event.objects.filter(org=org).values_list("type", flat=True):
        counts[event_type] = counts.get(event_type, 0) + 1
    return counts


# ---------------------------------------------------------------- Claude Code


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_claude_code_logs_become_stored_events(client, org, encoding):
    response = post(client, "/v1/logs", encode(claude_export(), encoding), encoding)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == otlp.MEDIA_TYPES[encoding]
    answer = decode(response, ExportLogsServiceResponse, encoding)
    assert not answer.HasField("partial_success")  # full success leaves it unset
    assert events_by_type(org) == {"llm.usage": 1, "tool.call": 2, "suggestion.accepted": 1, "suggestion.rejected": 1}

    usage = Event.objects.get(org=org, type="llm.usage")
    assert usage.payload == {"input_tokens": 1200, "output_tokens": 300, "cache_read_tokens": 5000, "cache_write_tokens": 100, "latency_ms": 2500, "request_id": "req_011abc"}
    assert (usage.model_name, usage.model_version) == ("claude-sonnet-4-5", "claude-sonnet-4-5")
    assert (usage.session_id, usage.task_id, usage.os, usage.ide, usage.ide_version, usage.shell) == ("c-session-1", "c-prompt-1", "macos", "claude-code", "2.1.214", "vscode")
    assert usage.user_hash and "alice" not in usage.user_hash
    assert usage.ts.isoformat() == "2026-11-20T10:15:01+00:00"

    failed = Event.objects.get(org=org, type="tool.call", tool="Bash")
    assert failed.payload["status"] == "error" and failed.payload["error_kind"] == "nonzero_exit"
    # tool_result carries no model: it is the one the same prompt's api_request named
    assert failed.model_version == "claude-sonnet-4-5"
    assert Event.objects.get(org=org, type="suggestion.accepted").payload == {"suggestion_id": "toolu_01", "lines": 0, "chars": 0}
    assert Event.objects.get(org=org, type="suggestion.rejected").payload == {"suggestion_id": "toolu_03"}

    assert rollup_sum(org, "events") == 5
    assert (rollup_sum(org, "tool_calls"), rollup_sum(org, "tool_errors")) == (2, 1)
    assert (rollup_sum(org, "llm_requests"), rollup_sum(org, "input_tokens"), rollup_sum(org, "output_tokens"), rollup_sum(org, "cache_tokens")) == (1, 1200, 300, 5100)
    assert (rollup_sum(org, "suggestions_accepted"), rollup_sum(org, "suggestions_rejected")) == (1, 1)


def test_model_version_comes_from_the_flywheel_resource_attribute(client, org):
    export = logs_export({**CLAUDE_RESOURCE, "flywheel.model_version": "ft-2026-11-20"}, [
        claude_event("api_request", {"model": "claude-sonnet-4-5", "input_tokens": 1, "output_tokens": 2}, seconds=1),
    ])
    assert post(client, "/v1/logs", encode(export, "json"), "json").status_code == 200
    assert Event.objects.get(org=org).model_version == "ft-2026-11-20"


def test_logrecord_event_name_field_is_honoured(client, org):
    record = log_record({"session.id": "s", "model": "m", "tool_name": "Bash", "success": True}, time=T0, event_name="claude_code.tool_result")
    assert post(client, "/v1/logs", encode(logs_export({"service.name": "anything"}, [record]), "protobuf"), "protobuf").status_code == 200
    assert Event.objects.get(org=org).tool == "Bash"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_resending_an_export_stores_each_event_once(client, org, encoding):
    body = encode(claude_export(), encoding)
    assert post(client, "/v1/logs", body, encoding).status_code == 200
    assert post(client, "/v1/logs", body, encoding).status_code == 200
    # The same export in the other encoding is the same records: still nothing new.
    other = "json" if encoding == "protobuf" else "protobuf"
    assert post(client, "/v1/logs", encode(claude_export(), other), other).status_code == 200
    assert Event.objects.filter(org=org).count() == 5
    assert rollup_sum(org, "events") == 5
    assert rollup_sum(org, "input_tokens") == 1200


def test_gzip_bodies_are_accepted(client, org):
    response = post(client, "/v1/logs", encode(claude_export(), "protobuf"), "protobuf", gzip=True)
    assert response.status_code == 200
    assert Event.objects.filter(org=org).count() == 5


# ---------------------------------------------------------------- Gemini CLI and Qwen Code


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_gemini_cli_sample(client, org, encoding):
    export = otlp.logs_decode(fixture("gemini_cli_logs.json"), "json")
    body = fixture("gemini_cli_logs.json") if encoding == "json" else export.SerializeToString()
    response = post(client, "/v1/logs", body, encoding)
    assert response.status_code == 200, response.content
    assert not decode(response, ExportLogsServiceResponse, encoding).HasField("partial_success")
    assert events_by_type(org) == {"llm.usage": 1, "tool.call": 2, "suggestion.accepted": 1, "code.retention": 1, "suggestion.rejected": 1}

    usage = Event.objects.get(org=org, type="llm.usage")
    # 1200 prompt tokens include 200 cached ones; 50 thought tokens are output
    assert usage.payload == {"input_tokens": 1000, "output_tokens": 350, "cache_read_tokens": 200, "latency_ms": 1800}
    assert (usage.model_name, usage.model_version, usage.os, usage.ide) == ("gemini-2.5-pro", "gemini-2.5-pro@2026-11", "windows", "gemini-cli")
    # Gemini CLI reports a command that ran as "success": true; its exit code 1 is in metadata.
    shell = Event.objects.get(org=org, type="tool.call", tool="run_shell_command")
    assert (shell.payload["status"], shell.payload["error_kind"], shell.payload["exit_code"]) == ("error", "nonzero_exit", 1)
    accepted = Event.objects.get(org=org, type="suggestion.accepted")
    assert (accepted.payload["lines"], accepted.payload["chars"]) == (10, 400)
    retention = Event.objects.get(org=org, type="code.retention")
    # 400 chars proposed, the user removed 100 of them before applying: 300 retained
    assert retention.payload["suggestion_id"] == accepted.payload["suggestion_id"]
    assert (retention.payload["retained_chars"], retention.payload["total_chars"], retention.payload["elapsed_s"]) == (300, 400, 0)
    assert retention.payload["unchanged"] is False
    # the rejected write_file never ran: a suggestion rejection, not a tool error
    assert not Event.objects.filter(org=org, type="tool.call", tool="write_file").exists()
    assert (rollup_sum(org, "tool_calls"), rollup_sum(org, "tool_errors")) == (2, 1)
    assert (rollup_sum(org, "suggestions_accepted"), rollup_sum(org, "accepted_lines"), rollup_sum(org, "accepted_chars")) == (1, 10, 400)


def test_retention_elapsed_default_is_a_setting(client, org, settings):
    settings.TELEMETRY_OTLP_RETENTION_ELAPSED_S = 30
    assert post(client, "/v1/logs", fixture("gemini_cli_logs.json"), "json").status_code == 200
    assert (rollup_sum(org, "retention_30s_retained"), rollup_sum(org, "retention_30s_total"), rollup_sum(org, "retention_30s_checks")) == (300, 400, 1)


def test_qwen_code_sample(client, org):
    response = post(client, "/v1/logs", fixture("qwen_code_logs.json"), "json", gzip=True)
    assert response.status_code == 200, response.content
    assert events_by_type(org) == {"llm.usage": 1, "tool.call": 2, "suggestion.accepted": 1, "code.retention": 1}
    assert Event.objects.get(org=org, type="llm.usage").payload["input_tokens"] == 1500
    assert Event.objects.get(org=org, type="tool.call", tool="read_file").payload["error_kind"] == "invalid_arguments"
    retention = Event.objects.get(org=org, type="code.retention").payload
    assert (retention["retained_chars"], retention["total_chars"], retention["unchanged"]) == (120, 120, True)
    assert set(Event.objects.filter(org=org).values_list("os", flat=True)) == {"macos"}


# ---------------------------------------------------------------- metrics


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_gen_ai_token_usage_metric(client, org, encoding):
    export = otlp.metrics_decode(fixture("gen_ai_metrics.json"), "json")
    body = fixture("gen_ai_metrics.json") if encoding == "json" else export.SerializeToString()
    response = post(client, "/v1/metrics", body, encoding)
    assert response.status_code == 200, response.content
    assert not decode(response, ExportMetricsServiceResponse, encoding).HasField("partial_success")
    usages = {e.model_name: e.payload for e in Event.objects.filter(org=org, type="llm.usage")}
    assert usages == {"acme-coder-2026-11": {"input_tokens": 1500, "output_tokens": 250}, "acme-mini": {"input_tokens": 80, "output_tokens": 20}}
    assert (rollup_sum(org, "llm_requests"), rollup_sum(org, "input_tokens"), rollup_sum(org, "output_tokens")) == (2, 1580, 270)
    # re-sending the export (delta temporality) changes nothing
    assert post(client, "/v1/metrics", body, encoding).status_code == 200
    assert rollup_sum(org, "input_tokens") == 1580


def test_cumulative_metrics_are_counted_as_deltas(client, org):
    resource = {"service.name": "acme-agent", "service.instance.id": str(uuid.uuid4())}
    attrs = {"gen_ai.request.model": "acme-coder", "session.id": "cum-1"}

    def export(seconds: int, input_total: int, output_total: int):
        return metrics_export(resource, [token_histogram([
            ({**attrs, "gen_ai.token.type": "input"}, float(input_total)),
            ({**attrs, "gen_ai.token.type": "output"}, float(output_total)),
        ], time=T0 + seconds * SECOND, cumulative=True)])

    for body in (export(60, 100, 10), export(120, 150, 30), export(120, 150, 30), export(60, 100, 10)):
        assert post(client, "/v1/metrics", encode(body, "protobuf"), "protobuf").status_code == 200
    payloads = sorted((e.payload["input_tokens"], e.payload["output_tokens"]) for e in Event.objects.filter(org=org))
    assert payloads == [(50, 20), (100, 10)]
    assert (rollup_sum(org, "input_tokens"), rollup_sum(org, "output_tokens")) == (150, 30)


def test_vendor_gen_ai_metrics_are_not_counted_twice(client, org):
    """Gemini CLI reports tokens in its api_response log and in gen_ai.client.token.usage: the log wins."""
    export = metrics_export({"service.name": "gemini-cli"}, [token_histogram([
        ({"gen_ai.request.model": "gemini-2.5-pro", "session.id": "s", "gen_ai.token.type": "input"}, 100.0),
    ], time=T0 + SECOND)])
    response = post(client, "/v1/metrics", encode(export, "json"), "json")
    assert response.status_code == 200
    assert not Event.objects.filter(org=org).exists()


def test_claude_edit_decision_metric_maps_only_when_enabled(client, org, settings):
    def export(seconds: int):
        common = {"session.id": "c-m-1", "user.id": "u1", "tool_name": "Edit", "language": "Python"}
        return metrics_export(CLAUDE_RESOURCE, [counter("claude_code.code_edit_tool.decision", [
            ({**common, "decision": "accept", "source": "user_temporary"}, 2),
            ({**common, "decision": "reject", "source": "user_reject"}, 1),
            ({**common, "decision": "accept", "source": "config"}, 5),
        ], time=T0 + seconds * SECOND)])

    assert post(client, "/v1/metrics", encode(export(60), "protobuf"), "protobuf").status_code == 200
    assert not Event.objects.filter(org=org).exists()  # by default decisions come from the logs

    settings.TELEMETRY_OTLP_FACTS_FROM_METRICS = True
    # the metric names no model: the resource must (else the points are rejected)
    response = post(client, "/v1/metrics", encode(export(120), "protobuf"), "protobuf")
    answer = decode(response, ExportMetricsServiceResponse, "protobuf")
    assert answer.partial_success.rejected_data_points == 2
    assert "model" in answer.partial_success.error_message
    resource = {**CLAUDE_RESOURCE, "flywheel.model": "claude-sonnet-4-5"}
    body = export(180)
    body.resource_metrics[0].resource.CopyFrom(metrics_export(resource, []).resource_metrics[0].resource)
    assert post(client, "/v1/metrics", encode(body, "protobuf"), "protobuf").status_code == 200
    assert events_by_type(org) == {"suggestion.accepted": 2, "suggestion.rejected": 1}
    assert set(Event.objects.filter(org=org).values_list("language", flat=True)) == {"python"}


def test_file_operation_metric_maps_to_retention_when_enabled(client, org, settings):
    settings.TELEMETRY_OTLP_FACTS_FROM_METRICS = True
    attrs = {"session.id": "q-m-1", "model": "qwen3-coder-plus", "operation": "update", "programming_language": "TypeScript",
             "model_added_lines": 8, "model_removed_lines": 1, "user_added_lines": 0, "user_removed_lines": 2}
    export = metrics_export({"service.name": "qwen-code"}, [counter("qwen-code.file.operation.count", [(attrs, 1)], time=T0 + SECOND)])
    assert post(client, "/v1/metrics", encode(export, "json"), "json").status_code == 200
    retention = Event.objects.get(org=org, type="code.retention")
    assert (retention.payload["retained_chars"], retention.payload["total_chars"], retention.language) == (6, 8, "typescript")


# ---------------------------------------------------------------- partial success and errors


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_partial_success_counts_rejected_records(client, org, encoding):
    no_session = claude_event("tool_result", {"tool_name": "Bash", "success": "true", "model": "m"}, seconds=3)
    del no_session.attributes[0]  # session.id
    export = logs_export(CLAUDE_RESOURCE, [
        claude_event("api_request", {"model": "m", "input_tokens": 10, "output_tokens": 2}, seconds=1),
        claude_event("api_request", {"model": "m", "input_tokens": -5, "output_tokens": 2}, seconds=2),
        no_session,
        claude_event("user_prompt", {"prompt_length": 3}, seconds=4),  # ignored, not rejected
    ])
    response = post(client, "/v1/logs", encode(export, encoding), encoding)
    assert response.status_code == 200
    partial = decode(response, ExportLogsServiceResponse, encoding).partial_success
    assert partial.rejected_log_records == 2
    assert "payload.input_tokens" in partial.error_message
    assert "session.id" in partial.error_message
    assert "logRecords[1]" in partial.error_message and "logRecords[2]" in partial.error_message
    assert Event.objects.filter(org=org).count() == 1


def test_a_record_is_rejected_whole(client, org):
    """A Gemini tool_call whose retention is invalid keeps none of its three events."""
    record = log_record({
        "session.id": "s", "model": "m", "event.name": "gemini_cli.tool_call", "function_name": "replace", "success": True,
        "decision": "accept", "metadata": {"model_added_chars": 10, "model_added_lines": 1}, "elapsed_s": -3,
    }, time=T0)
    response = post(client, "/v1/logs", encode(logs_export({"service.name": "gemini-cli"}, [record]), "protobuf"), "protobuf")
    partial = decode(response, ExportLogsServiceResponse, "protobuf").partial_success
    assert partial.rejected_log_records == 1 and "payload.elapsed_s" in partial.error_message
    assert not Event.objects.filter(org=org).exists()


def test_an_empty_export_is_success_but_an_empty_body_is_refused(client):
    response = post(client, "/v1/logs", b"{}", "json")
    assert response.status_code == 200
    assert not decode(response, ExportLogsServiceResponse, "json").HasField("partial_success")
    # An empty body is not OTLP/JSON, and no exporter sends an empty protobuf export: a body
    # lost on the way (a chunked one read as empty) must never be answered as a success.
    for path in ("/v1/logs", "/v1/metrics", "/v1/traces"):
        for encoding in ENCODINGS:
            response = post(client, path, b"", encoding)
            assert response.status_code == 400, (path, encoding)
            status = status_of(response, encoding)
            assert "the body is empty" in status.message
    # A server that hands Django a chunked body without de-chunking it (runserver) is named.
    response = post(client, "/v1/logs", b"", "json", HTTP_TRANSFER_ENCODING="chunked")
    assert response.status_code == 400 and "does not de-chunk" in status_of(response, "json").message


def test_otlp_json_hex_ids_and_unknown_fields(client, org):
    body = b"""{"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "claude-code"}}]},
      "futureField": {"x": 1},
      "scopeLogs": [{"logRecords": [{"timeUnixNano": "1795169700000000000", "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "eee19b7ec3c1b174", "severityNumber": 9, "body": {"stringValue": "claude_code.api_request"},
        "attributes": [{"key": "session.id", "value": {"stringValue": "s"}}, {"key": "model", "value": {"stringValue": "m"}},
                       {"key": "input_tokens", "value": {"intValue": "7"}}, {"key": "output_tokens", "value": {"intValue": 8}}]}]}]}]}"""
    response = post(client, "/v1/logs", body, "json")
    assert response.status_code == 200, response.content
    assert Event.objects.get(org=org).payload == {"input_tokens": 7, "output_tokens": 8}
    decoded = otlp.logs_decode(body, "json")
    assert decoded.resource_logs[0].scope_logs[0].log_records[0].trace_id.hex() == "5b8efff798038103d269b633813fc60c"


@pytest.mark.parametrize("path", ["/v1/logs", "/v1/metrics"])
@pytest.mark.parametrize(("encoding", "body"), [
    ("protobuf", b"\xff\xff\xff\xff\x0f garbage"),
    ("protobuf", b"\x0a\x05\x0a\x03\x0a\x01"),
    ("json", b"{not json"),
    ("json", b"[1, 2, 3]"),
    ("json", b'{"resourceLogs": 7, "resourceMetrics": 7}'),
    ("json", b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "zz"}]}]}]}'),
])
def test_undecodable_bodies_are_400_with_a_status(client, path, encoding, body):
    response = post(client, path, body, encoding)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == otlp.MEDIA_TYPES[encoding]
    status = status_of(response, encoding)
    assert status.message and status.code == 3
    assert status.details[0].type_url.endswith("google.rpc.BadRequest")


def test_corrupt_gzip_is_400(client):
    response = client.post("/v1/logs", data=b"\x1f\x8b\x08garbage", content_type="application/x-protobuf", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert "gzip" in status_of(response, "protobuf").message


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/grpc", "multipart/form-data; boundary=x"])
def test_other_content_types_are_415(client, content_type):
    response = client.post("/v1/metrics", data=b"{}", content_type=content_type)
    assert response.status_code == 415
    assert response["Content-Type"] == "application/json"
    assert "application/x-protobuf" in status_of(response, "json").message


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_missing_or_bad_key_is_401_with_a_status(encoding):
    anonymous = APIClient()
    response = post(anonymous, "/v1/logs", encode(claude_export(), encoding), encoding)
    assert response.status_code == 401
    assert response["Content-Type"] == otlp.MEDIA_TYPES[encoding]
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "API key" in status_of(response, encoding).message
    anonymous.credentials(HTTP_X_API_KEY="fw_nothere_secret")
    assert post(anonymous, "/v1/metrics", b"", encoding).status_code == 401


def test_x_api_key_header_and_any_accept_header_work(org):
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=api_key_create(org=org))
    response = post(api, "/v1/logs", encode(claude_export(), "protobuf"), "protobuf", HTTP_ACCEPT="application/x-protobuf")
    assert response.status_code == 200


def test_get_is_405_with_a_status(client):
    response = client.get("/v1/logs")
    assert response.status_code == 405
    assert status_of(response, "json").message


def test_oversize_bodies_are_413(client, settings):
    settings.TELEMETRY_MAX_BODY_BYTES = 1000
    response = post(client, "/v1/logs", encode(claude_export(), "json"), "json")
    assert response.status_code == 413
    assert "limit" in status_of(response, "json").message
    settings.TELEMETRY_MAX_BODY_BYTES = 5 * 1024 * 1024
    settings.TELEMETRY_OTLP_MAX_EVENTS = 2
    response = post(client, "/v1/logs", encode(claude_export(), "protobuf"), "protobuf")
    assert response.status_code == 413
    assert "at most 2" in status_of(response, "protobuf").message


def test_rate_limit_is_429_with_retry_after(client, settings):
    cache.clear()
    settings.TELEMETRY_INGEST_RATE = "2/minute"
    statuses = [post(client, "/v1/metrics", b"{}", "json").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = post(client, "/v1/logs", b"", "json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Rate limit" in status_of(response, "json").message
    cache.clear()


def test_bus_unavailable_is_503_with_retry_after(client, org, settings):
    """A real Kafka producer pointed at a closed port: nothing is accepted, the client must retry."""
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"
    reset_bus()
    try:
        response = post(client, "/v1/logs", encode(claude_export(), "protobuf"), "protobuf")
    finally:
        reset_bus()  # the next bus is built lazily, from the settings restored after this test
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    status = status_of(response, "protobuf")
    assert "retry" in status.message and status.code == 14
    assert not Event.objects.filter(org=org).exists()


def test_openapi_lists_the_otlp_endpoints(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "/v1/logs" in paths and "/v1/metrics" in paths


# ---------------------------------------------------------------- pure mapping units


@pytest.mark.parametrize(("error_type", "error", "kind"), [
    ("invalid_tool_params", None, "invalid_arguments"),
    ("edit_no_occurrence_found", None, "invalid_arguments"),
    ("tool_not_registered", None, "unknown_tool"),
    ("permission_denied", None, "permission"),
    ("shell_execute_error", None, "nonzero_exit"),
    ("ShellError", "Shell command failed", "nonzero_exit"),  # Claude Code 2.1: no exit code
    ("ShellError", "Exit code 127", "invalid_for_shell"),
    ("shell_execute_error", "Output: bash: line 1: nope: command not found\nExit Code: 127", "invalid_for_shell"),
    ("shell_execute_error", "Output: ls: cannot access 'x': No such file or directory\nExit Code: 2", "nonzero_exit"),
    (None, "Exit Code: 9009", "invalid_for_shell"),  # cmd.exe: command not found
    (None, "The term 'lss' is not recognized as the name of a cmdlet", "invalid_for_shell"),
    ("Error:ENOENT", None, "invalid_arguments"),
    ("InputValidationError", None, "invalid_arguments"),
    ("Error:EACCES", None, "permission"),
    ("TimeoutError", None, "timeout"),
    (None, "'ls' is not recognized as an internal or external command", "invalid_for_shell"),
    (None, "No such tool available: Foo", "unknown_tool"),
    ("unhandled_exception", "boom", "other"),
    (None, None, "other"),
    (["not", "a", "string"], {"x": 1}, "other"),
])
def test_tool_error_kinds(error_type, error, kind):
    assert otlp.tool_error_kind(error_type, error) == kind
    assert kind in TOOL_ERROR_KINDS


@pytest.mark.parametrize(("attributes", "outcome"), [
    # Gemini CLI 0.61: the command ran, so "success": true; the shell's outcome is in metadata.
    ({"success": True, "metadata": '{"exitCode": 127, "isError": true}'}, ("error", "invalid_for_shell", 127)),
    ({"success": True, "metadata": '{"exitCode": 1, "isError": true}'}, ("error", "nonzero_exit", 1)),
    ({"success": True, "metadata": '{"exitCode": 9009, "isError": true}'}, ("error", "invalid_for_shell", 9009)),
    ({"success": True, "metadata": '{"exitCode": 0, "isError": false}'}, ("success", None, 0)),
    ({"success": True}, ("success", None, None)),
    # Qwen Code 0.24: success false, shell_execute_error, the exit code in the error text.
    ({"success": False, "error_type": "shell_execute_error", "error": "Output: bash: x: command not found\nExit Code: 127"},
     ("error", "invalid_for_shell", 127)),
    ({"success": False, "error_type": "shell_execute_error", "error": "Exit Code: 3"}, ("error", "nonzero_exit", 3)),
])
def test_shell_outcomes_as_the_cli_reports_them(attributes, outcome):
    record = log_record({"session.id": "s", "model": "m", "event.name": "gemini_cli.tool_call", "function_name": "run_shell_command",
                         "decision": "accept", **attributes}, time=T0)
    (event,) = otlp.logs_map(logs_export({"service.name": "gemini-cli"}, [record])).events
    payload = event["payload"]
    assert (payload["status"], payload.get("error_kind"), payload.get("exit_code")) == outcome


@pytest.mark.parametrize(("os_type", "expected"), [("darwin", "macos"), ("linux", "linux"), ("windows", "windows"), ("freebsd", "other"), ("", None), (3, None)])
def test_os_normalization(os_type, expected):
    assert otlp.normalize_os(os_type) == expected


def test_event_ids_are_deterministic_and_distinct():
    first = otlp.logs_map(claude_export())
    again = otlp.logs_map(otlp.logs_decode(encode(claude_export(), "json"), "json"))
    ids = [e["event_id"] for e in first.events]
    assert ids == [e["event_id"] for e in again.events]
    assert len(set(ids)) == len(ids) == 5
    assert first.ignored == 2 and first.rejected == 0
