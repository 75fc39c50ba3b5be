"""OTLP/HTTP receivers, ``POST /v1/logs`` and ``POST /v1/metrics``: thin adapters over telemetry.otlp.

They answer as the OTLP/HTTP spec says: 200 with an ``Export*ServiceResponse`` in the request's
encoding (``partial_success`` set only when records were rejected); every 4xx/5xx carries a
``google.rpc.Status`` in the request's encoding (JSON when the content type itself is
unsupported); 429 and 503 carry Retry-After. Auth, the per-key rate and the body limits are
those of ``/api/v1/events``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from google.protobuf.message import Message
from rest_framework import permissions
from rest_framework.views import APIView

from telemetry import otlp
from telemetry.auth import ApiKeyAuthentication, ApiKeyRateThrottle
from telemetry.bus import BusUnavailable
from telemetry.http_body import BodyInvalid, BodyTooLarge, request_body
from telemetry.models import ApiKey
from telemetry.services import events_ingest

BUS_RETRY_AFTER_S = 5
# Last cumulative point per metric series, for delta conversion (see telemetry.otlp).
SERIES_CACHE_PREFIX = "flywheel:otlp:series:"
SERIES_CACHE_TTL_S = 7 * 86400
# Headers of DRF's own error answers that an OTLP client needs too.
KEPT_ERROR_HEADERS = ("Retry-After", "WWW-Authenticate")


class ApiKeyRequired(permissions.BasePermission):
    message = "Send an API key: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


def request_encoding(request) -> otlp.Encoding | None:
    """The OTLP encoding named by Content-Type, or None when it is neither protobuf nor JSON."""
    media_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    return otlp.CONTENT_TYPES.get(media_type)


def otlp_answer(message: Message, encoding: otlp.Encoding, *, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(otlp.message_encode(message, encoding), status=status, content_type=otlp.MEDIA_TYPES[encoding])
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def otlp_error(status: int, message: str, encoding: otlp.Encoding, *, field_name: str | None = None, retry_after_s: int | None = None, headers: dict[str, str] | None = None) -> HttpResponse:
    """A 4xx/5xx answer whose body is a ``google.rpc.Status``."""
    headers = dict(headers or {})
    if retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
    body = otlp.error_status(status, message, field_name=field_name, retry_after_s=retry_after_s)
    return otlp_answer(body, encoding, status=status, headers=headers)


def mapping_options() -> otlp.MappingOptions:
    return otlp.MappingOptions(
        facts_from_metrics=settings.TELEMETRY_OTLP_FACTS_FROM_METRICS,
        default_retention_elapsed_s=settings.TELEMETRY_OTLP_RETENTION_ELAPSED_S,
    )


@dataclass(frozen=True)
class Signal:
    """What differs between the logs and the metrics receiver."""

    unit: str  # the OTLP unit of partial_success: "log record" or "data point"
    decode: Callable[[bytes, otlp.Encoding], Message]
    map: Callable[[Message, otlp.MappingOptions], otlp.MappingResult]
    response: Callable[..., Message]


def _logs_map(export: Message, options: otlp.MappingOptions) -> otlp.MappingResult:
    return otlp.logs_map(export, options=options)


def _metrics_map(export: Message, options: otlp.MappingOptions) -> otlp.MappingResult:
    keys = otlp.metric_series_keys(export, options=options)
    stored = cache.get_many([SERIES_CACHE_PREFIX + key for key in keys]) if keys else {}
    baselines = {key.removeprefix(SERIES_CACHE_PREFIX): value for key, value in stored.items() if isinstance(value, otlp.SeriesPoint)}
    return otlp.metrics_map(export, baselines=baselines, options=options)


LOGS = Signal("log record", otlp.logs_decode, _logs_map, otlp.logs_response)
METRICS = Signal("data point", otlp.metrics_decode, _metrics_map, otlp.metrics_response)


def ingest_rejections(result: otlp.MappingResult, rejected: list[dict[str, Any]]) -> tuple[int, list[str]]:
    """Records whose events ``events_ingest`` refused after all (counted once per record)."""
    owners: dict[int, list[str]] = {}
    for item in rejected:
        owner = result.owners[item["index"]]
        fields = ", ".join(f"{e['field']}: {e['message']}" for e in item["errors"])
        owners.setdefault(owner, []).append(fields)
    units = sum(result.owner_sizes[owner] for owner in owners)
    return units, [f"{result.owner_names[owner]}: {'; '.join(reasons)}" for owner, reasons in owners.items()]


class OtlpExportApi(APIView):
    """One OTLP/HTTP export endpoint; subclasses name the signal."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [ApiKeyRequired]
    throttle_classes = [ApiKeyRateThrottle]
    parser_classes: list = []  # the body is read raw: size limits and gzip come first
    signal: ClassVar[Signal]

    def perform_content_negotiation(self, request, force=False):
        # OTLP answers in the request's encoding whatever Accept says; never 406.
        return super().perform_content_negotiation(request, force=True)

    def handle_exception(self, exc) -> HttpResponse:
        """DRF's answers (401, 405, 429 ...) re-encoded as a google.rpc.Status, headers kept."""
        response = super().handle_exception(exc)
        data = getattr(response, "data", None)
        message = data.get("message") if isinstance(data, dict) else None
        headers = {name: response[name] for name in KEPT_ERROR_HEADERS if response.has_header(name)}
        return otlp_error(response.status_code, str(message or exc), request_encoding(self.request) or "json", headers=headers)

    def post(self, request) -> HttpResponse:
        encoding = request_encoding(request)
        if encoding is None:
            return otlp_error(415, "Send OTLP as Content-Type application/x-protobuf or application/json.", "json")
        try:
            body = request_body(request._request, max_bytes=settings.TELEMETRY_MAX_BODY_BYTES)
        except BodyTooLarge as exc:
            return otlp_error(413, f"{exc}; export smaller batches.", encoding)
        except BodyInvalid as exc:
            return otlp_error(400, str(exc), encoding, field_name="body")
        try:
            export = self.signal.decode(body, encoding)
        except otlp.DecodeFailed as exc:
            return otlp_error(400, str(exc), encoding, field_name="body")
        result = self.signal.map(export, mapping_options())
        max_events = settings.TELEMETRY_OTLP_MAX_EVENTS
        if len(result.events) > max_events:
            return otlp_error(413, f"this export maps to {len(result.events)} events; send at most {max_events} per request.", encoding)
        try:
            ingested = events_ingest(org=request.auth.org, events=result.events)
        except BusUnavailable as exc:
            return otlp_error(503, f"{exc}. Nothing was accepted; retry the same export.", encoding, retry_after_s=BUS_RETRY_AFTER_S)
        if result.series_updates:
            cache.set_many({SERIES_CACHE_PREFIX + key: point for key, point in result.series_updates.items()}, SERIES_CACHE_TTL_S)
        late_units, late_errors = ingest_rejections(result, ingested.rejected)
        result.rejected += late_units
        result.errors.extend(late_errors)
        answer = self.signal.response(rejected=result.rejected, error_message=result.error_message(unit=self.signal.unit))
        return otlp_answer(answer, encoding)


_OTLP_RESPONSES = {
    200: OpenApiResponse(description="Export*ServiceResponse, in the request's encoding; partial_success names rejected records"),
    400: OpenApiResponse(description="Undecodable body (google.rpc.Status)"),
    401: OpenApiResponse(description="Missing or invalid API key (google.rpc.Status)"),
    413: OpenApiResponse(description="Body over 5 MB, or an export mapping to over TELEMETRY_OTLP_MAX_EVENTS events (google.rpc.Status)"),
    415: OpenApiResponse(description="Content-Type neither application/x-protobuf nor application/json"),
    429: OpenApiResponse(description="Over the per-key rate; see Retry-After"),
    503: OpenApiResponse(description="The event bus did not acknowledge; retry after Retry-After"),
}


class OtlpLogsApi(OtlpExportApi):
    """OTLP/HTTP logs: Claude Code, Gemini CLI, Qwen Code and gen_ai events become Flywheel events."""

    signal = LOGS

    @extend_schema(request={"application/x-protobuf": OpenApiTypes.BINARY, "application/json": OpenApiTypes.OBJECT}, responses=_OTLP_RESPONSES, description=(
        "An ExportLogsServiceRequest (OTLP/HTTP, protobuf or JSON, gzip accepted). See the telemetry/otlp/ package for the mapping."
    ))
    def post(self, request) -> HttpResponse:
        return super().post(request)


class OtlpMetricsApi(OtlpExportApi):
    """OTLP/HTTP metrics: gen_ai.client.token.usage (and vendor metrics when enabled)."""

    signal = METRICS

    @extend_schema(request={"application/x-protobuf": OpenApiTypes.BINARY, "application/json": OpenApiTypes.OBJECT}, responses=_OTLP_RESPONSES, description=(
        "An ExportMetricsServiceRequest (OTLP/HTTP, protobuf or JSON, gzip accepted). See the telemetry/otlp/ package for the mapping."
    ))
    def post(self, request) -> HttpResponse:
        return super().post(request)
