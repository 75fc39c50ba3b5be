"""Log exports captured from the real CLIs (tests/telemetry/fixtures/capture_cli_exports.py),
replayed without them: Gemini CLI 0.61.0, Claude Code 2.1.332, Qwen Code 0.24.4, each running
one failing shell command against the model API stand-in (tests/telemetry/model_apis.py).
"""
from __future__ import annotations

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

from telemetry import otlp
from telemetry.models import Event
from telemetry.services import organization_get_or_create
from tests.factories import api_client_for
from tests.telemetry.fixtures.otlp_builders import decode, fixture, post
from tests.telemetry.model_apis import TEXT_USAGE, TOOL_CALL_USAGE

pytestmark = pytest.mark.django_db

# fixture, shell tool, (error_kind, exit_code), client version; the CLI's own record of the failure
CAPTURED = [
    # "success": true, "metadata": "{\"exitCode\": 127, \"isError\": true}"; its service.version is Node's
    ("gemini_cli_0.61.0_logs.json", "run_shell_command", ("invalid_for_shell", 127), ""),
    # "success": "false", "error_type": "ShellError", "error": "Shell command failed"
    ("claude_code_2.1.332_logs.json", "Bash", ("nonzero_exit", None), "2.1.332"),
    # "success": false, "error_type": "shell_execute_error", "error": "... Exit Code: 2 ..."
    ("qwen_code_0.24.4_logs.json", "run_shell_command", ("nonzero_exit", 2), "0.24.4"),
]


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
@pytest.mark.parametrize("name, shell_tool, failure, ide_version", CAPTURED, ids=[c[0].split("_logs")[0] for c in CAPTURED])
def test_captured_cli_export(name, shell_tool, failure, ide_version, encoding):
    org = organization_get_or_create(slug="captured")
    body = fixture(name) if encoding == "json" else otlp.logs_decode(fixture(name), "json").SerializeToString()
    response = post(api_client_for(org), "/v1/logs", body, encoding)
    assert response.status_code == 200, response.content
    # Records Flywheel does not use (config, prompts, plugins, gen_ai.* duplicates) are ignored, never rejected.
    assert not decode(response, ExportLogsServiceResponse, encoding).HasField("partial_success")

    (call,) = Event.objects.filter(org=org, type="tool.call")
    error_kind, exit_code = failure
    assert (call.payload["tool"], call.payload["status"], call.payload["error_kind"]) == (shell_tool, "error", error_kind)
    assert call.payload.get("exit_code") == exit_code
    assert call.model_version == "fixture"  # OTEL_RESOURCE_ATTRIBUTES=flywheel.model_version=fixture
    assert call.ide_version == ide_version

    usage = sorted((e.payload["input_tokens"], e.payload["output_tokens"], e.payload.get("cache_read_tokens", 0))
                   for e in Event.objects.filter(org=org, type="llm.usage"))
    assert usage == sorted([
        (TOOL_CALL_USAGE.input_tokens, TOOL_CALL_USAGE.output_tokens, TOOL_CALL_USAGE.cached_tokens),
        (TEXT_USAGE.input_tokens, TEXT_USAGE.output_tokens, TEXT_USAGE.cached_tokens),
    ])
    # Both model requests and the tool call belong to the CLI's one session.
    assert Event.objects.filter(org=org).values("session_id").distinct().count() == 1
