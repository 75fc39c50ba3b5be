"""Telemetry writes: organizations, API keys, ingestion and dead-letter replay."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from telemetry.bus import get_bus
from telemetry.completions import completion_captured
from telemetry.messages import messages_encode
from telemetry.metrics import retention_from_content, retention_from_counts
from telemetry.models import ApiKey, DeadLetter, Organization, RejectionRollup
from telemetry.privacy import captured_text, hash_user
from telemetry.schemas import event_validate, normalize_shell
from telemetry.store import counters_add, messages_store

API_KEY_PREFIX = "fw"
AUTH_CACHE_S = 60

# Payload fields holding code or free text, governed by the org's content capture mode.
CONTENT_FIELDS: dict[str, tuple[str, ...]] = {
    "suggestion.shown": ("code",),
    "suggestion.accepted": ("code",),
    "suggestion.rejected": ("code",),
    "code.retention": ("original_content", "current_content"),
    "tool.call": ("arguments",),
    "feedback": ("comment",),
}


def organization_get_or_create(*, slug: str, name: str | None = None) -> Organization:
    org, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return org


def _secret_hash(secret: str) -> str:
    # Keys are 256-bit random, so a fast hash is safe (no dictionary to guess from).
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, org: Organization, name: str = "default") -> str:
    """Create a key for ``org`` and return it in clear: the only time it is ever visible."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    ApiKey.objects.create(org=org, name=name, prefix=prefix, secret_hash=_secret_hash(secret))
    return f"{API_KEY_PREFIX}_{prefix}_{secret}"


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, or None. Lookups are cached briefly."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or "\x00" in raw_key:  # PostgreSQL refuses NUL in a query
        return None
    prefix, secret = parts[1], parts[2]
    cache_key = f"flywheel:apikey:{prefix}"
    key = cache.get(cache_key)
    if key is None:
        key = ApiKey.objects.select_related("org").filter(prefix=prefix, revoked_at__isnull=True).first()
        if key is None:
            return None
        cache.set(cache_key, key, AUTH_CACHE_S)
    if not hmac.compare_digest(key.secret_hash, _secret_hash(secret)):
        return None
    return key


def api_key_revoke(*, key: ApiKey) -> None:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    cache.delete(f"flywheel:apikey:{key.prefix}")


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def event_normalize(*, org: Organization, event: dict[str, Any]) -> dict[str, Any]:
    """Apply privacy rules and canonical forms to one valid event.

    Retention from content is computed here, so that the content itself can be dropped
    before anything is published or stored when the org does not capture it.
    """
    # Copy only what is changed below (top level, client, payload): deepcopy cost more than the rest.
    event = dict(event)
    if isinstance(event.get("client"), dict):
        event["client"] = dict(event["client"])
    event["payload"] = dict(event["payload"])
    user = event.pop("user", None)
    if user:
        event["user_hash"] = hash_user(salt=org.user_salt, user=user)
    client = event.get("client")
    if client and client.get("shell"):
        client["shell"] = normalize_shell(client["shell"])
    payload = event["payload"]
    if event["type"] == "code.retention":
        if "original_content" in payload:
            measure = retention_from_content(original=payload["original_content"], current=payload["current_content"])
        else:
            measure = retention_from_counts(retained_chars=payload["retained_chars"], total_chars=payload["total_chars"])
        payload.update(
            retained_chars=measure.retained_chars,
            total_chars=measure.total_chars,
            unchanged=measure.unchanged,
            mostly_unchanged=measure.mostly_unchanged,
        )
    if event["type"] == "llm.completion":
        event["payload"] = payload = completion_captured(mode=org.content_capture, payload=payload)
    for name in CONTENT_FIELDS.get(event["type"], ()):
        if name in payload:
            kept = captured_text(mode=org.content_capture, text=payload.pop(name))
            if kept is not None:
                payload[name] = kept
    return event


def _rejection_reason(errors: list) -> str:
    return "invalid_" + errors[0].field.split(".")[0].strip("()")


def _echoable_event_id(raw: Any) -> str | None:
    """The refused event's event_id, when it can be echoed back (a short, UTF-8-encodable string)."""
    event_id = raw.get("event_id") if isinstance(raw, dict) else None
    if not isinstance(event_id, str) or len(event_id) > 128:
        return None
    try:
        event_id.encode("utf-8")  # a lone surrogate (JSON can escape one) would break the answer
    except UnicodeEncodeError:
        return None
    return event_id


def events_ingest(*, org: Organization, events: list[Any], received_at: datetime | None = None,
                  strict_json: bool = False) -> IngestResult:
    """Validate, normalize and publish a batch; return what was accepted and why the rest was not.

    ``strict_json``: see ``event_validate`` (the API sets it for bodies a strict parser read).

    Returns only after the bus acknowledged every accepted event; raises
    ``telemetry.bus.BusUnavailable`` otherwise (then nothing may be reported accepted; a
    retry of the same batch is safe because stores are idempotent on event_id).
    """
    received_at = received_at or timezone.now()
    result = IngestResult()
    accepted = []
    reasons: dict[str, int] = {}
    for index, raw in enumerate(events):
        errors = event_validate(raw, strict_json=strict_json)
        if errors:
            event_id = _echoable_event_id(raw)
            result.rejected.append({"index": index, "event_id": event_id, "errors": [e.as_dict() for e in errors]})
            reason = _rejection_reason(errors)
            reasons[reason] = reasons.get(reason, 0) + 1
            continue
        accepted.append(event_normalize(org=org, event=raw))
    if accepted:
        get_bus().publish(messages_encode(org_id=org.id, received_at=received_at, events=accepted))
    result.accepted = len(accepted)
    if reasons:
        rejections_record(org=org, reasons=reasons, at=received_at)
    return result


def rejections_record(*, org: Organization, reasons: dict[str, int], at: datetime) -> None:
    hour = at.replace(minute=0, second=0, microsecond=0)
    counters_add(RejectionRollup, ("org_id", "hour", "reason"), {(org.id, hour, reason): {"count": n} for reason, n in reasons.items()})


def dead_letters_replay() -> int:
    """Replay the dead-letter queue into the store; return how many messages were replayed."""
    if settings.KAFKA_BOOTSTRAP_SERVERS:
        from telemetry.consumer import ConsumerConfig, dead_letters_replay_kafka

        config = ConsumerConfig(
            bootstrap_servers=settings.KAFKA_BOOTSTRAP_SERVERS,
            topic=settings.TELEMETRY_TOPIC,
            dlq_topic=settings.TELEMETRY_DLQ_TOPIC,
            group_id=settings.TELEMETRY_CONSUMER_GROUP,
        )
        return dead_letters_replay_kafka(config, replay_group=f"{settings.TELEMETRY_CONSUMER_GROUP}-dlq-replay")
    pending = list(DeadLetter.objects.filter(replayed_at__isnull=True).order_by("id"))
    if not pending:
        return 0
    result = messages_store(messages=[(d.key, bytes(d.value)) for d in pending])
    get_bus().dead_letter(result.dead_letters)
    DeadLetter.objects.filter(id__in=[d.id for d in pending]).update(replayed_at=timezone.now())
    return len(pending)


__all__ = [
    "api_key_authenticate",
    "api_key_create",
    "api_key_revoke",
    "dead_letters_replay",
    "event_normalize",
    "events_ingest",
    "organization_get_or_create",
]
