"""OTLP logs and metrics → Flywheel schema-v1 events (pure: no Django import).

Agent CLIs speak OpenTelemetry natively; this package turns what they export over OTLP/HTTP
into the events ``telemetry.services.events_ingest`` takes. ``telemetry.api_otlp`` is the
thin HTTP adapter around it.

Modules
-------
- ``decoding``: bodies (protobuf or OTLP/JSON) → opentelemetry-proto requests.
- ``answers``: Export*ServiceResponse with partial_success, google.rpc.Status errors.
- ``common``: attributes, value coercion, sources, drafts, options, results.
- ``envelope``: the schema-v1 envelope every mapped event shares (ids, session, model,
  client, time) and its validation.
- ``tool_calls``: tool outcomes and error kinds as the producers report them.
- ``points``: metric data points, cumulative → delta, N events per counter delta.
- One module per producer, each with its table of what is mapped and its ``LOG_MAPPERS`` /
  ``METRIC_MAPPERS``: ``claude_code``, ``gemini_cli``, ``qwen_code``, ``gen_ai``
  (the OpenTelemetry GenAI semantic conventions).
- ``logs`` / ``metrics``: walk an export and apply the producers' mappers.

Not double counting
-------------------
Vendor CLIs report some facts twice. Tokens and edit decisions are taken from their log
events (one per request/decision, with identity and exact time); the ``gen_ai.*`` log event
and metric are mapped only for other producers (``service.name`` not one of claude-code,
gemini-cli, qwen-code), and the vendor decision/line metrics only when
``facts_from_metrics`` is set (for deployments that export metrics but not logs). Automatic
decisions (Claude Code source "config"/"hook", Gemini "auto_accept") are not user judgements
and are not mapped to suggestions.

Rejected versus ignored
-----------------------
Well-formed records that are not telemetry Flywheel uses (user prompts without their text, config, unknown
names, duplicates of facts taken elsewhere) are ignored: neither stored nor reported
rejected. A record that is ours but whose events fail ``event_validate`` (or lack a time) is
rejected as a whole, none of its events is kept, and its field errors go into the
``partial_success.error_message``. Rejection is counted in the signal's OTLP unit: log
records, or metric data points.
"""
from __future__ import annotations

from telemetry.otlp.answers import error_status, logs_response, message_encode, metrics_response
from telemetry.otlp.common import MappingOptions, MappingResult, SeriesPoint
from telemetry.otlp.decoding import CONTENT_TYPES, MEDIA_TYPES, DecodeFailed, Encoding, logs_decode, metrics_decode
from telemetry.otlp.envelope import normalize_os
from telemetry.otlp.logs import LOG_MAPPERS, logs_map
from telemetry.otlp.metrics import VENDOR_METRIC_MAPPERS, metric_series_keys, metrics_map
from telemetry.otlp.tool_calls import tool_error_kind

__all__ = [
    "CONTENT_TYPES",
    "DecodeFailed",
    "Encoding",
    "LOG_MAPPERS",
    "MEDIA_TYPES",
    "MappingOptions",
    "MappingResult",
    "SeriesPoint",
    "VENDOR_METRIC_MAPPERS",
    "error_status",
    "logs_decode",
    "logs_map",
    "logs_response",
    "message_encode",
    "metric_series_keys",
    "metrics_decode",
    "metrics_map",
    "metrics_response",
    "normalize_os",
    "tool_error_kind",
]
