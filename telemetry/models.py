"""Telemetry storage: organizations, API keys, raw events and incremental rollups.

Rollups are the only thing read by metrics and the dashboard. Each rollup row is keyed by
(org, model version, hour, os, shell, ide, language, tool) and holds additive counters, so
that the consumer can update it with ``counter = counter + delta`` in the same transaction
that inserts the events, and a replayed event (already stored) adds nothing.
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.fields.json import KT

RETENTION_CHECKPOINTS_S: tuple[int, ...] = (30, 120, 300, 600, 3600)
RETENTION_LABELS: dict[int, str] = {30: "30s", 120: "2m", 300: "5m", 600: "10m", 3600: "1h"}


class ContentCapture(models.TextChoices):
    OFF = "off", "Off: code and free text are dropped"
    HASHED = "hashed", "Hashed: only a SHA-256 of the text is kept"
    FULL = "full", "Full: kept, with secrets scrubbed"


class Organization(models.Model):
    slug = models.SlugField(unique=True, max_length=64)
    name = models.CharField(max_length=200)
    content_capture = models.CharField(max_length=8, choices=ContentCapture.choices, default=ContentCapture.OFF)
    # Per-org salt for hashing user ids: the same user is linkable inside an org only.
    user_salt = models.CharField(max_length=64, default=secrets.token_hex, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    """A dashboard user's access to one organization's data."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "org"], name="membership_unique_user_org")]


class ApiKey(models.Model):
    """A client credential. Only a SHA-256 of the secret is stored; the prefix finds the row."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class Event(models.Model):
    """One normalized telemetry event, stored once per (org, event_id)."""

    # No index of its own: the unique (org, event_id) and every index below lead with org,
    # so one more would only cost a B-tree insert per stored event.
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, db_index=False)
    event_id = models.UUIDField()
    type = models.CharField(max_length=32)
    ts = models.DateTimeField()
    received_at = models.DateTimeField()
    session_id = models.CharField(max_length=128)
    task_id = models.CharField(max_length=128, blank=True, default="")
    user_hash = models.CharField(max_length=64, blank=True, default="")
    model_name = models.CharField(max_length=128)
    model_version = models.CharField(max_length=128)
    os = models.CharField(max_length=32, blank=True, default="")
    shell = models.CharField(max_length=32, blank=True, default="")
    ide = models.CharField(max_length=64, blank=True, default="")
    ide_version = models.CharField(max_length=64, blank=True, default="")
    language = models.CharField(max_length=64, blank=True, default="")
    repo_id = models.CharField(max_length=128, blank=True, default="")
    tool = models.CharField(max_length=64, blank=True, default="")
    payload = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "event_id"], name="event_unique_org_event_id")]
        indexes = [
            models.Index(fields=["org", "model_version", "ts"], name="event_org_version_ts"),
            models.Index(fields=["org", "type", "ts"], name="event_org_type_ts"),
            # Joins of outcomes to the completion that caused them (rewards mining). Partial,
            # so events without the key cost nothing at ingestion.
            models.Index(F("org"), KT("payload__request_id"), name="event_org_request_id",
                         condition=Q(payload__has_key="request_id")),
            models.Index(F("org"), KT("payload__suggestion_id"), name="event_org_suggestion_id",
                         condition=Q(type__in=["code.retention", "suggestion.shown", "suggestion.accepted", "suggestion.rejected"])),
            models.Index(fields=["org", "task_id"], name="event_org_task_outcome",
                         condition=Q(type__in=["task.finished", "feedback"])),
        ]


class Task(models.Model):
    """Token accounting of one agent task, so that tokens-per-task counts finished tasks only."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE)
    task_id = models.CharField(max_length=128)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cache_tokens = models.BigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, blank=True, default="")
    # The rollup key the finished task was counted under (late tokens go to the same row).
    rollup_key = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "task_id"], name="task_unique_org_task_id")]


ROLLUP_DIMENSIONS: tuple[str, ...] = ("model_version", "hour", "os", "shell", "ide", "language", "tool")


def _counter() -> models.BigIntegerField:
    # db_default: the raw upsert in store.py names only the counters it changes.
    return models.BigIntegerField(default=0, db_default=0)


class HourlyRollup(models.Model):
    """Additive counters per (org, model version, hour, os, shell, ide, language, tool)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE)
    model_version = models.CharField(max_length=128)
    hour = models.DateTimeField()
    os = models.CharField(max_length=32, default="")
    shell = models.CharField(max_length=32, default="")
    ide = models.CharField(max_length=64, default="")
    language = models.CharField(max_length=64, default="")
    tool = models.CharField(max_length=64, default="")

    events = _counter()
    suggestions_shown = _counter()
    suggestions_accepted = _counter()
    suggestions_rejected = _counter()
    accepted_lines = _counter()
    accepted_chars = _counter()
    tool_calls = _counter()
    tool_errors = _counter()
    llm_requests = _counter()
    input_tokens = _counter()
    output_tokens = _counter()
    cache_tokens = _counter()
    tasks_finished = _counter()
    tasks_succeeded = _counter()
    finished_task_tokens = _counter()
    # Sum of squared per-task tokens: gives the variance for a confidence interval.
    finished_task_tokens_sq = _counter()
    feedback_up = _counter()
    feedback_down = _counter()
    # Code retention at each checkpoint T: characters still present / characters accepted,
    # how many measured insertions were unchanged or mostly unchanged, and the sums of
    # squares and cross products that a delta-method confidence interval of the ratio needs.
    retention_30s_retained = _counter()
    retention_30s_total = _counter()
    retention_30s_checks = _counter()
    retention_30s_unchanged = _counter()
    retention_30s_mostly_unchanged = _counter()
    retention_30s_retained_sq = _counter()
    retention_30s_total_sq = _counter()
    retention_30s_cross = _counter()
    retention_2m_retained = _counter()
    retention_2m_total = _counter()
    retention_2m_checks = _counter()
    retention_2m_unchanged = _counter()
    retention_2m_mostly_unchanged = _counter()
    retention_2m_retained_sq = _counter()
    retention_2m_total_sq = _counter()
    retention_2m_cross = _counter()
    retention_5m_retained = _counter()
    retention_5m_total = _counter()
    retention_5m_checks = _counter()
    retention_5m_unchanged = _counter()
    retention_5m_mostly_unchanged = _counter()
    retention_5m_retained_sq = _counter()
    retention_5m_total_sq = _counter()
    retention_5m_cross = _counter()
    retention_10m_retained = _counter()
    retention_10m_total = _counter()
    retention_10m_checks = _counter()
    retention_10m_unchanged = _counter()
    retention_10m_mostly_unchanged = _counter()
    retention_10m_retained_sq = _counter()
    retention_10m_total_sq = _counter()
    retention_10m_cross = _counter()
    retention_1h_retained = _counter()
    retention_1h_total = _counter()
    retention_1h_checks = _counter()
    retention_1h_unchanged = _counter()
    retention_1h_mostly_unchanged = _counter()
    retention_1h_retained_sq = _counter()
    retention_1h_total_sq = _counter()
    retention_1h_cross = _counter()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", *ROLLUP_DIMENSIONS], name="rollup_unique_dimensions"
            )
        ]
        indexes = [models.Index(fields=["org", "hour"], name="rollup_org_hour")]


# Every additive counter of HourlyRollup (local_fields: usable while apps are still loading).
COUNTER_FIELDS: tuple[str, ...] = tuple(
    f.name for f in HourlyRollup._meta.local_fields if f.get_internal_type() == "BigIntegerField"
)


class ToolErrorRollup(models.Model):
    """Failed tool calls per error kind, for "most frequent tool-error kinds"."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE)
    model_version = models.CharField(max_length=128)
    hour = models.DateTimeField()
    os = models.CharField(max_length=32, default="")
    shell = models.CharField(max_length=32, default="")
    tool = models.CharField(max_length=64, default="")
    error_kind = models.CharField(max_length=32)
    count = _counter()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "model_version", "hour", "os", "shell", "tool", "error_kind"],
                name="tool_error_rollup_unique",
            )
        ]


class RejectionRollup(models.Model):
    """Events refused at ingestion, per org, hour and reason (for ingestion health)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE)
    hour = models.DateTimeField()
    reason = models.CharField(max_length=64)
    count = _counter()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "hour", "reason"], name="rejection_rollup_unique")]


class DeadLetter(models.Model):
    """A message the consumer could not store (embedded bus; Kafka keeps them in the DLQ topic)."""

    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=64)
    detail = models.TextField(blank=True, default="")
    key = models.CharField(max_length=128, blank=True, default="")
    value = models.BinaryField()
    replayed_at = models.DateTimeField(null=True, blank=True)


class IngestMinute(models.Model):
    """Events stored per org and minute of arrival (for events-per-minute on ingestion health)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE)
    minute = models.DateTimeField()
    stored = _counter()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "minute"], name="ingest_minute_unique")]
