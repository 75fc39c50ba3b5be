"""One error shape for every API answer: ``{"error", "message", ["field"], ["errors"]}``."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

ERROR_CODES = {
    status.HTTP_400_BAD_REQUEST: "bad_request",
    status.HTTP_401_UNAUTHORIZED: "unauthorized",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limited",
    status.HTTP_503_SERVICE_UNAVAILABLE: "unavailable",
}


class ApiErrorSerializer(serializers.Serializer):
    """The body of every JSON error answer (for the OpenAPI document)."""

    error = serializers.CharField(help_text="Machine-readable code: bad_request, unauthorized, forbidden, ...")
    message = serializers.CharField(help_text="What went wrong and what to do")
    field = serializers.CharField(required=False, allow_null=True, help_text="The request field at fault, when one is")
    errors = serializers.DictField(required=False, help_text="Every invalid parameter with its messages")


def error_responses(descriptions: dict[int, str]) -> dict[int, OpenApiResponse]:
    """OpenAPI entries for error answers: each has the one error shape, with its own description."""
    return {code: OpenApiResponse(response=ApiErrorSerializer, description=text) for code, text in descriptions.items()}


def error_response(status_code: int, message: str, *, field: str | None = None, headers: dict | None = None, **extra) -> Response:
    body = {"error": ERROR_CODES.get(status_code, "error"), "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return Response(body, status=status_code, headers=headers)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data
        field = next(iter(errors), None) if isinstance(errors, dict) else None
        response.data = {"error": "bad_request", "message": "Invalid request parameters.", "field": field, "errors": errors}
    else:
        message = str(detail) if detail is not None else str(exc)
        if isinstance(exc, exceptions.NotAuthenticated):
            message = "Authentication required: send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>', or log in."
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            message = f"Rate limit exceeded for this API key; retry in {int(exc.wait) + 1} s."
        response.data = {"error": ERROR_CODES.get(response.status_code, "error"), "message": message}
    return response
