"""Decoding OTLP/HTTP bodies into the opentelemetry-proto request classes.

``logs_decode`` / ``metrics_decode`` parse a body from binary protobuf
(``application/x-protobuf``) or OTLP/JSON (``application/json``, parsed by
``google.protobuf.json_format``). OTLP/JSON departs from protobuf's canonical JSON mapping
in one way: trace and span ids are hex strings, not base64, so they are re-encoded before
parsing. Unknown JSON fields are ignored, as the OTLP spec requires of receivers.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

Encoding = Literal["protobuf", "json"]


CONTENT_TYPES: dict[str, Encoding] = {"application/x-protobuf": "protobuf", "application/json": "json"}
MEDIA_TYPES: dict[Encoding, str] = {"protobuf": "application/x-protobuf", "json": "application/json"}


class DecodeFailed(ValueError):
    """The body is not a decodable export request of the expected signal."""


def logs_decode(body: bytes, encoding: Encoding) -> ExportLogsServiceRequest:
    """Parse an OTLP logs export; raise DecodeFailed with a developer-facing reason."""
    return _decode(body, encoding, ExportLogsServiceRequest())


def metrics_decode(body: bytes, encoding: Encoding) -> ExportMetricsServiceRequest:
    """Parse an OTLP metrics export; raise DecodeFailed with a developer-facing reason."""
    return _decode(body, encoding, ExportMetricsServiceRequest())


def _decode(body: bytes, encoding: Encoding, message: Message):
    if not body:
        return message  # an empty request is a valid, empty export
    try:
        if encoding == "protobuf":
            message.ParseFromString(body)
        else:
            document = json.loads(body)
            if not isinstance(document, dict):
                raise DecodeFailed("the OTLP/JSON body must be a JSON object")
            json_format.ParseDict(_json_prepared(document), message, ignore_unknown_fields=True)
    except DecodeFailed:
        raise
    except (DecodeError, json_format.ParseError, RecursionError, ValueError, TypeError, AttributeError) as exc:
        # ValueError covers bad UTF-8 and bad JSON; json_format also raises TypeError/AttributeError
        # for some malformed values (a number where a message belongs), RecursionError for deep nesting.
        raise DecodeFailed(f"not a valid {type(message).DESCRIPTOR.name} ({encoding}): {type(exc).__name__}: {exc}") from exc
    return message


_ID_KEYS = frozenset({"traceId", "spanId", "trace_id", "span_id"})
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_prepared(value: Any) -> Any:
    """OTLP/JSON as protobuf's JSON parser takes it: trace/span ids from hex to base64.

    Also refuses lone UTF-16 surrogates (JSON can escape them; protobuf strings are UTF-8),
    which the upb parser would otherwise answer with a SystemError.
    """
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            raise DecodeFailed("a JSON string holds a lone UTF-16 surrogate: not valid Unicode")
        return value
    if isinstance(value, dict):
        return {_json_prepared(k): (_hex_id(v) if k in _ID_KEYS else _json_prepared(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_prepared(v) for v in value]
    return value


def _hex_id(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # let json_format report the wrong type
    try:
        return base64.b64encode(bytes.fromhex(value)).decode()
    except ValueError as exc:
        raise DecodeFailed(f"trace/span id {value[:40]!r} is not hex") from exc
