"""Telemetry HTTP API: thin adapters that decode, make one service call, and encode."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from telemetry.api_errors import error_response, error_responses
from telemetry.auth import ApiKeyAuthentication, ApiKeyRateThrottle, HasApiKey, request_org
from telemetry.bus import BusUnavailable
from telemetry.http_body import BodyInvalid, BodyTooLarge, request_body
from telemetry.schemas import EVENT_SCHEMA
from telemetry.selectors import metrics_summary
from telemetry.services import events_ingest

BUS_RETRY_AFTER_S = 5


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents ``ApiKeyAuthentication`` as a security scheme of the OpenAPI document."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization's API key (`manage.py create_api_key`), as `Authorization: Bearer <key>` or `X-API-Key: <key>`.",
        }


class IngestAnswerSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.ListField(child=serializers.DictField(), help_text="index, event_id and field errors per refused event")


EVENTS_BODY_SCHEMA = {
    "type": "object",
    "required": ["events"],
    "properties": {"events": {"type": "array", "maxItems": 1000, "items": EVENT_SCHEMA}},
}


class EventsIngestApi(APIView):
    """POST a batch of telemetry events (schema v1)."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [ApiKeyRateThrottle]
    parser_classes: list = []  # the body is read raw: size limits and gzip come first

    @extend_schema(
        request={"application/json": EVENTS_BODY_SCHEMA},
        responses={
            202: IngestAnswerSerializer,
            **error_responses({
                400: "Body is not JSON, or not a batch",
                401: "Missing or invalid API key",
                413: "Over 1,000 events or 5 MB",
                429: "Over the per-key rate; see Retry-After",
                503: "The event bus did not acknowledge; retry the batch",
            }),
        },
        description=(
            "Up to 1,000 events or 5 MB (gzip accepted). Answers 202 only after the bus has "
            "acknowledged every accepted event; each refused event is listed with its index, "
            "event_id and field errors. Retrying a batch is safe: event_id is the idempotency key."
        ),
    )
    def post(self, request):
        try:
            body = request_body(request._request, max_bytes=settings.TELEMETRY_MAX_BODY_BYTES)
        except BodyTooLarge as exc:
            return error_response(413, str(exc))
        except BodyInvalid as exc:
            return error_response(400, str(exc))
        try:
            document, strict_json = json_document(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # RecursionError: nested too deeply
            return error_response(400, f"Body is not valid JSON: {exc}")
        events = document.get("events") if isinstance(document, dict) else document
        if not isinstance(events, list):
            return error_response(400, "Send {\"events\": [...]} (or a JSON array of events).", field="events")
        if len(events) > settings.TELEMETRY_MAX_BATCH_EVENTS:
            return error_response(413, f"{len(events)} events in one batch; send at most {settings.TELEMETRY_MAX_BATCH_EVENTS}.", field="events")
        try:
            result = events_ingest(org=request.auth.org, events=events, strict_json=strict_json)
        except BusUnavailable as exc:
            return error_response(503, f"{exc}. Nothing was accepted; retry the same batch.", headers={"Retry-After": str(BUS_RETRY_AFTER_S)})
        return Response({"accepted": result.accepted, "rejected": result.rejected}, status=202)


def json_document(body: bytes) -> tuple[Any, bool]:
    """The parsed body, and whether its strings and numbers are all storable as they are.

    orjson (strict RFC 8259, a few times faster) reads almost every body; what it refuses
    but many clients send anyway (NaN, Infinity, lone surrogate escapes, integers beyond 64
    bits) is read by the standard library, and those values are then refused per event with
    their field. A ``\\u0000`` escape is valid JSON that no database stores: checked per value.
    """
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body), False
    return document, b"\\u0000" not in body


class SummaryQuerySerializer(serializers.Serializer):
    model_version = serializers.ListField(child=serializers.CharField(max_length=128), required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": "until must be after since"})
        return attrs


class MetricsSummaryApi(APIView):
    """Headline metrics per model version for the caller's organization."""


    @extend_schema(
        parameters=[
            OpenApiParameter("model_version", OpenApiTypes.STR, many=True, description="Repeat or comma-separate to select versions"),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("until", OpenApiTypes.DATETIME),
            OpenApiParameter("org", OpenApiTypes.STR, description="Organization slug, for dashboard users in several orgs"),
        ],
        responses={
            200: OpenApiTypes.OBJECT,
            **error_responses({
                400: "A malformed parameter (e.g. an unparseable `since`/`until`, or `until` not after `since`); `field` names it",
                401: "Invalid API key",
                403: "Not logged in, or not a member of the organization",
            }),
        },
    )
    def get(self, request):
        versions = [v for raw in request.query_params.getlist("model_version") for v in raw.split(",") if v]
        query = SummaryQuerySerializer(data={
            **({"model_version": versions} if versions else {}),
            **{k: request.query_params[k] for k in ("since", "until") if k in request.query_params},
        })
        query.is_valid(raise_exception=True)
        org = request_org(request)
        summaries = metrics_summary(
            org=org,
            model_versions=query.validated_data.get("model_version"),
            since=query.validated_data.get("since"),
            until=query.validated_data.get("until"),
        )
        return Response({"organization": org.slug, "model_versions": [_jsonable(s) for s in summaries]})


def _jsonable(summary: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in summary.items()}


class EventSchemaApi(APIView):
    """The JSON Schema of one event (v1)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(EVENT_SCHEMA)
