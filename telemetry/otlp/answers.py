"""OTLP/HTTP answers: Export*ServiceResponse with partial_success, google.rpc.Status errors."""
from __future__ import annotations

from google.protobuf import any_pb2, duration_pb2, json_format
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsPartialSuccess,
    ExportMetricsServiceResponse,
)

from telemetry.otlp.decoding import Encoding


def message_encode(message: Message, encoding: Encoding) -> bytes:
    """A response message in the request's encoding (proto3 JSON mapping for JSON)."""
    if encoding == "protobuf":
        return message.SerializeToString()
    return json_format.MessageToJson(message, indent=None).encode()


def logs_response(*, rejected: int, error_message: str) -> ExportLogsServiceResponse:
    """Full success leaves partial_success unset, as the spec requires."""
    if not rejected:
        return ExportLogsServiceResponse()
    return ExportLogsServiceResponse(partial_success=ExportLogsPartialSuccess(rejected_log_records=rejected, error_message=error_message))


def metrics_response(*, rejected: int, error_message: str) -> ExportMetricsServiceResponse:
    if not rejected:
        return ExportMetricsServiceResponse()
    return ExportMetricsServiceResponse(partial_success=ExportMetricsPartialSuccess(rejected_data_points=rejected, error_message=error_message))


_RPC_CODES = {
    400: code_pb2.INVALID_ARGUMENT, 401: code_pb2.UNAUTHENTICATED, 403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND, 405: code_pb2.UNIMPLEMENTED, 406: code_pb2.INVALID_ARGUMENT,
    413: code_pb2.RESOURCE_EXHAUSTED, 415: code_pb2.INVALID_ARGUMENT, 429: code_pb2.RESOURCE_EXHAUSTED,
    503: code_pb2.UNAVAILABLE,
}


def error_status(http_status: int, message: str, *, field_name: str | None = None, retry_after_s: int | None = None) -> status_pb2.Status:
    """The ``google.rpc.Status`` every OTLP 4xx/5xx answer carries, with BadRequest or RetryInfo details."""
    status = status_pb2.Status(code=_RPC_CODES.get(http_status, code_pb2.UNKNOWN), message=message or f"HTTP {http_status}")
    if field_name is not None:
        violation = error_details_pb2.BadRequest.FieldViolation(field=field_name, description=message)
        _details_add(status, error_details_pb2.BadRequest(field_violations=[violation]))
    if retry_after_s is not None:
        _details_add(status, error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after_s)))
    return status


def _details_add(status: status_pb2.Status, detail: Message) -> None:
    packed = any_pb2.Any()
    packed.Pack(detail)
    status.details.append(packed)
