"""Qwen Code (service.name ``qwen-code``): a fork of Gemini CLI that keeps its telemetry.

``qwen-code.tool_call``, ``qwen-code.api_response``, ``qwen-code.user_prompt``,
``qwen-code.api_request`` and ``qwen-code.file.operation.count``
carry Gemini CLI's attributes under Qwen Code's prefix, so they map as in
``telemetry.otlp.gemini_cli``. One difference in what 0.24.4 sends
(``tests/telemetry/fixtures/qwen_code_0.24.4_logs.json``): a failed shell command is
``"success": false`` with ``error_type: shell_execute_error`` and the exit code only in the
error text ("... Exit Code: 127 ..."), which ``telemetry.otlp.tool_calls`` reads;
user decisions made automatically are ``decision: auto_accept`` (not a judgement).
"""
from __future__ import annotations

from telemetry.otlp import gemini_cli
from telemetry.otlp.common import Mapper
from telemetry.otlp.points import MetricMapper

LOG_MAPPERS: dict[str, Mapper] = {
    "qwen-code.tool_call": gemini_cli.gemini_tool_call,
    "qwen-code.api_response": gemini_cli.gemini_api_response,
    "qwen-code.user_prompt": gemini_cli.gemini_prompt,
    "qwen-code.api_request": gemini_cli.gemini_prompt,
}
METRIC_MAPPERS: dict[str, MetricMapper] = {
    "qwen-code.file.operation.count": gemini_cli.file_operation_metric,
}
