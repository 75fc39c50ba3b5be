"""API-key authentication and per-key rate limiting for DRF views."""
from __future__ import annotations

from django.conf import settings
from rest_framework import authentication, exceptions, permissions, throttling

from telemetry.models import ApiKey, Organization
from telemetry.ratelimit import rate_check, rate_parse
from telemetry.services import api_key_authenticate


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; the request's org is the key's."""

    def authenticate(self, request):
        raw = request.headers.get("X-API-Key", "")
        header = request.headers.get("Authorization", "")
        if not raw and header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise exceptions.AuthenticationFailed("Authorization must be 'Bearer <api key>'.")
            raw = token.strip()
        if not raw:
            return None
        key = api_key_authenticate(raw_key=raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return (None, key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="flywheel"'


def request_org(request) -> Organization:
    """The organization a request acts for: its API key's, or the logged-in user's membership.

    A user with several organizations picks one with ``?org=<slug>``.
    """
    if isinstance(request.auth, ApiKey):
        return request.auth.org
    user = request.user
    if user is None or not user.is_authenticated:
        raise exceptions.NotAuthenticated("Log in or send an API key.")
    memberships = user.memberships.select_related("org")
    slug = request.query_params.get("org") if hasattr(request, "query_params") else request.GET.get("org")
    if slug and "\x00" in slug:  # no slug holds one, and PostgreSQL refuses it in a query
        raise exceptions.PermissionDenied("You are not a member of this organization.")
    if slug:
        memberships = memberships.filter(org__slug=slug)
    membership = memberships.order_by("org__slug").first()
    if membership is None:
        raise exceptions.PermissionDenied("You are not a member of this organization." if slug else "You belong to no organization.")
    return membership.org


class ApiKeyRateThrottle(throttling.BaseThrottle):
    """Requests per API key per period (``TELEMETRY_INGEST_RATE``), counted atomically in the
    shared cache (``telemetry.ratelimit``). Requests without an API key are not limited here."""

    retry_after_s: float | None = None

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            return True
        decision = rate_check(f"flywheel:rate:{request.auth.prefix}", rate_parse(settings.TELEMETRY_INGEST_RATE))
        self.retry_after_s = decision.retry_after_s
        return decision.allowed

    def wait(self) -> float | None:
        return self.retry_after_s


class HasApiKey(permissions.BasePermission):
    message = "Send an API key: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey)


class HasApiKeyOrLogin(permissions.BasePermission):
    """An API key (acting for its org) or a logged-in dashboard user."""

    message = "Send an API key or log in."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return isinstance(request.auth, ApiKey) or bool(user is not None and user.is_authenticated)
