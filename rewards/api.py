"""Online reward service over HTTP: thin adapters around ``rewards.core.scoring``.

* ``POST /api/v1/rewards/score``: one trajectory or ``{"trajectories": [...]}`` (up to 256).
* ``POST /get_reward``: OpenRLHF's remote reward protocol. OpenRLHF sends no headers, so the
  API key may also come as the ``key`` query parameter.
"""
from __future__ import annotations

import json
import numbers

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from rewards.core.scoring import COMPONENTS, STATUSES, ScoredTrajectory, score_trajectories
from rewards.core.trajectory import TrajectoryError
from rewards.scoring_setup import MAX_BODY_BYTES, MAX_OPENRLHF_BATCH, active_preference_model, scoring_config
from rewards.integrations.protocol import OpenRlhfRequestError, openrlhf_answer, openrlhf_payloads
from telemetry.api_errors import error_response
from rewards.core.attacker import MAX_FALSE_POSITIVE_RATE, MIN_CATCH_RATE
from rewards.hacking import hacking_report_series
from telemetry.auth import ApiKeyAuthentication, HasApiKey, HasApiKeyOrLogin
from telemetry.http_body import BodyInvalid, BodyTooLarge, request_body
from telemetry.services import api_key_authenticate

MAX_BATCH = 256
COMPONENT_SCHEMA = {
    "type": "object",
    "required": ["value", "weight", "status"],
    "properties": {
        "value": {"type": "number", "nullable": True, "description": "null unless status is ok"},
        "weight": {"type": "number"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "detail": {"type": "string"},
    },
}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "reward": {"type": "number", "description": "sum of weight * value over components with status ok"},
        "components": {"type": "object", "properties": {name: COMPONENT_SCHEMA for name in COMPONENTS}},
        "flags": {"type": "array", "items": {"type": "object", "properties": {
            "detector": {"type": "string"}, "reason": {"type": "string"}, "evidence": {"type": "string"}}}},
        "reward_model_version": {"type": "string", "nullable": True},
        "task_id": {"type": "string", "nullable": True},
    },
}
MESSAGE_SCHEMA = {"type": "object", "required": ["role"], "properties": {
    "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
    "content": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}], "nullable": True},
    "tool_calls": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "type": {"type": "string", "enum": ["function"]},
        "function": {"type": "object", "properties": {"name": {"type": "string"}, "arguments": {"type": "string"}}}}}},
    "tool_call_id": {"type": "string"},
}}
TRAJECTORY_SCHEMA = {
    "type": "object",
    "description": "prompt + response (the environment's action format), or OpenAI chat messages",
    "properties": {
        "prompt": {"oneOf": [{"type": "string"}, {"type": "array", "items": MESSAGE_SCHEMA}]},
        "response": {"type": "string", "maxLength": 200_000},
        "messages": {"type": "array", "items": MESSAGE_SCHEMA},
        "diff": {"type": "string", "description": "unified diff"},
        "tests": {"type": "object", "properties": {"passed": {"type": "integer"}, "total": {"type": "integer"}}},
        "usage": {"type": "object", "properties": {"output_tokens": {"type": "integer"},
                                                   "completion_tokens": {"type": "integer"}}},
        "task": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"task_id": {"type": "string"}}}],
                 "description": "environment task id, or {\"task_id\": ...}"},
    },
}
ERRORS = {
    400: OpenApiResponse(description="Not JSON, or a field is missing/has the wrong type (see 'field')"),
    401: OpenApiResponse(description="Missing or invalid API key"),
    413: OpenApiResponse(description="Too many trajectories, or a text or body too large"),
}


class ApiKeyOrQueryKeyAuthentication(ApiKeyAuthentication):
    """The usual API-key headers, or ``?key=<api key>`` for clients that send no headers."""

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is not None:
            return found
        raw = request.query_params.get("key", "")
        if not raw:
            return None
        key = api_key_authenticate(raw_key=raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return (None, key)


def _json_value(value: object) -> float | int:
    """Numbers orjson does not write itself (numpy scalars a model may return)."""
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class OrjsonRenderer(renderers.BaseRenderer):
    """``application/json`` by orjson. Scoring results (dataclasses) are written as they are,
    field by field as ``ScoredTrajectory.to_dict`` lists them, without building dicts first;
    a NaN is written as null, never as invalid JSON."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return b"" if data is None else orjson.dumps(data, default=_json_value)


class JsonOnly(BaseContentNegotiation):
    """The reward service answers JSON only: its one renderer, without parsing Accept per request."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _json_body(request) -> object | Response:
    """The decoded JSON body, or the 400/413 answer to return.

    orjson reads it; what orjson refuses (NaN, lone surrogates, huge integers) goes to the
    standard library, so the service accepts exactly what it accepted before and words its
    400 the same way.
    """
    try:
        body = request_body(request._request, max_bytes=MAX_BODY_BYTES)
    except BodyTooLarge as exc:
        return error_response(413, str(exc))
    except BodyInvalid as exc:
        return error_response(400, str(exc))
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return error_response(400, f"Body is not valid JSON: {exc}")


def _score(payloads: list) -> list[ScoredTrajectory]:
    return score_trajectories(payloads, config=scoring_config(), preference_model=active_preference_model())


class RewardsScoreApi(APIView):
    """Score trajectories: reward, named components, hacking flags, reward-model version.

    The hot path of RL training: no throttling, no content negotiation, orjson both ways
    (``benchmarks/rewards.py`` measures what each request costs over the scorer itself).
    """

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    parser_classes: list = []
    renderer_classes = [OrjsonRenderer]
    content_negotiation_class = JsonOnly

    @extend_schema(
        request={"application/json": {"oneOf": [TRAJECTORY_SCHEMA, {
            "type": "object", "required": ["trajectories"],
            "properties": {"trajectories": {"type": "array", "maxItems": MAX_BATCH, "items": TRAJECTORY_SCHEMA}}}]}},
        responses={200: {"type": "object", "properties": {"results": {"type": "array", "items": RESULT_SCHEMA}}},
                   **ERRORS},
        description=(f"One trajectory, or up to {MAX_BATCH} as {{\"trajectories\": [...]}}. Each result has the "
                     "reward, its components (value, weight, status ok|timeout|unavailable), the hacking flags "
                     "(detector, reason, evidence) and the reward-model version. A component that timed out or "
                     "had no input has value null and says so in its status."),
    )
    def post(self, request):
        document = _json_body(request)
        if isinstance(document, Response):
            return document
        if not isinstance(document, dict):
            return error_response(400, "Send one trajectory object or {\"trajectories\": [...]}.", field="trajectories")
        if "trajectories" in document:
            payloads = document["trajectories"]
            if not isinstance(payloads, list) or not payloads:
                return error_response(400, "must be a non-empty list of trajectories", field="trajectories")
            if len(payloads) > MAX_BATCH:
                return error_response(413, f"{len(payloads)} trajectories; send at most {MAX_BATCH}",
                                      field="trajectories")
        else:
            payloads = [document]
        try:
            results = _score(payloads)
        except TrajectoryError as exc:
            field = exc.field if "trajectories" in document else exc.field.split(".", 1)[-1]
            return error_response(413 if exc.too_large else 400, exc.message, field=field)
        return Response({"results": results})  # OrjsonRenderer writes each as ScoredTrajectory.to_dict()


class OpenRlhfRewardApi(APIView):
    """OpenRLHF's remote reward model protocol."""

    authentication_classes = [ApiKeyOrQueryKeyAuthentication]
    permission_classes = [HasApiKey]
    parser_classes: list = []
    renderer_classes = [OrjsonRenderer]
    content_negotiation_class = JsonOnly

    @extend_schema(
        parameters=[OpenApiParameter("key", OpenApiTypes.STR, OpenApiParameter.QUERY,
                                     description="API key, for clients that cannot send headers (OpenRLHF)")],
        request={"application/json": {"type": "object", "required": ["query"], "properties": {
            "query": {"type": "array", "items": {"type": "string"}, "description": "prompt + response texts"},
            "prompts": {"type": "array", "items": {"type": "string"}},
            "labels": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "object"}], "nullable": True},
                       "description": "environment task id, or JSON with task_id"}}}},
        responses={200: {"type": "object", "properties": {
            "rewards": {"type": "array", "items": {"type": "number"}},
            "scores": {"type": "array", "items": {"type": "number"},
                       "description": "verified correctness in [0, 1] when known, else the reward clipped to [0, 1]"},
            "extra_logs": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "number"}}}}},
            **ERRORS},
        description="`{\"query\", \"prompts\", \"labels\"}` -> `{\"rewards\", \"scores\", \"extra_logs\"}`, as "
                    "OpenRLHF's --remote_rm_url expects; the same scorer as /api/v1/rewards/score.",
    )
    def post(self, request):
        document = _json_body(request)
        if isinstance(document, Response):
            return document
        try:
            payloads = openrlhf_payloads(document, max_batch=MAX_OPENRLHF_BATCH)
            results = _score(payloads)
        except OpenRlhfRequestError as exc:
            return error_response(413 if exc.too_large else 400, exc.message, field=exc.field)
        except TrajectoryError as exc:
            return error_response(413 if exc.too_large else 400, exc.message, field=exc.field)
        return Response(openrlhf_answer(results))


class HackingReportsApi(APIView):
    """The hacking reports over time (dashboard chart data)."""

    permission_classes = [HasApiKeyOrLogin]

    @extend_schema(
        tags=["dashboard"], operation_id="dashboard_hacking_reports",
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT, OpenApiParameter.QUERY,
                                     description="Latest reports to return (1-500, default 50)")],
        responses={200: {"type": "object", "properties": {
            "reports": {"type": "array", "items": {"type": "object"}},
            "min_catch_rate": {"type": "number"}, "max_false_positive_rate": {"type": "number"}}},
            400: OpenApiResponse(description="limit is not an integer in 1-500"),
            401: OpenApiResponse(description="Not logged in and no API key")},
        description="Every attack_rewarder run, oldest first: per detector kind the catch rate on attacks and the "
                    "false-positive rate on honest trajectories, and the catch rate per disguise. The detectors are "
                    "the same for every organization, so the reports are not per organization.",
    )
    def get(self, request):
        raw = request.query_params.get("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= 500:
            return error_response(400, "limit must be an integer from 1 to 500", field="limit")
        return Response({"reports": hacking_report_series(limit=int(raw)), "min_catch_rate": MIN_CATCH_RATE,
                         "max_false_positive_rate": MAX_FALSE_POSITIVE_RATE})
