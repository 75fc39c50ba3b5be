"""Rewards storage: mined completions, preference dataset snapshots, the reward-model registry."""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from telemetry.models import Organization


class MinedCompletion(models.Model):
    """One completion's facts and product score, recomputed whenever new telemetry touches it."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE)
    request_id = models.CharField(max_length=128)
    prompt_fingerprint = models.CharField(max_length=80)
    model_version = models.CharField(max_length=128)
    session_id = models.CharField(max_length=128, blank=True, default="")
    task_id = models.CharField(max_length=128, blank=True, default="")
    ts = models.DateTimeField()
    # Rendered text under "full" capture only; None otherwise (such completions score but never pair).
    prompt = models.TextField(null=True, blank=True)
    response = models.TextField(null=True, blank=True)
    suggestion_ids = models.JSONField(default=list)
    score = models.FloatField()
    components = models.JSONField(default=dict)
    signals = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "request_id"], name="mined_completion_unique_request")]
        indexes = [
            models.Index(fields=["org", "prompt_fingerprint"], name="mined_completion_prompt"),
            models.Index(fields=["org", "task_id"], name="mined_completion_task"),
        ]


class PreferenceDataset(models.Model):
    """A versioned snapshot of mined preference pairs (files under ``path``)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE)
    version = models.CharField(max_length=64, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    created_at = models.DateTimeField(auto_now_add=True)
    # Highest telemetry Event.id read: the next run starts after it.
    watermark_event_id = models.BigIntegerField(default=0)
    events_scanned = models.IntegerField(default=0)
    completions = models.IntegerField(default=0)
    completions_with_text = models.IntegerField(default=0)
    pairs_train = models.IntegerField(default=0)
    pairs_validation = models.IntegerField(default=0)
    ties_dropped = models.IntegerField(default=0)
    path = models.CharField(max_length=500)
    files = models.JSONField(default=dict)
    config = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.version


class RewardModelKind(models.TextChoices):
    BASELINE = "baseline", "scikit-learn baseline on signal features"
    BRADLEY_TERRY = "bradley_terry", "torch Bradley-Terry over text"


class RewardModelVersion(models.Model):
    """One trained reward model. At most one version is active (the one the service loads)."""

    version = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=RewardModelKind.choices)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE)
    dataset = models.ForeignKey(PreferenceDataset, on_delete=models.PROTECT, related_name="reward_models")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    artifact_path = models.CharField(max_length=500)
    pairwise_accuracy = models.FloatField(null=True, blank=True)
    calibration = models.JSONField(default=dict)
    ece = models.FloatField(null=True, blank=True)
    train_pairs = models.IntegerField(default=0)
    validation_pairs = models.IntegerField(default=0)
    train_seconds = models.FloatField(default=0.0)
    config = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="reward_model_one_active"),
        ]

    def __str__(self) -> str:
        return self.version


# --- Reward-hacking guard (scoring engineer): one row per attack_rewarder run ------------------


class HackingReport(models.Model):
    """The rewarder measured against the attacker: per kind, catch rate on attacks and
    false-positive rate on honest trajectories (``kinds``), and catch rate per disguise."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    honest_count = models.PositiveIntegerField()
    attack_count = models.PositiveIntegerField()
    # {kind: {"attacks", "caught", "catch_rate", "honest", "false_positives", "false_positive_rate"}}
    kinds = models.JSONField()
    # {disguise: {"attacks", "caught", "catch_rate"}}
    disguises = models.JSONField()
    passed = models.BooleanField()
    min_catch_rate = models.FloatField()
    max_false_positive_rate = models.FloatField()
    duration_s = models.FloatField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"hacking report {self.created_at:%Y-%m-%d %H:%M} ({'passed' if self.passed else 'failed'})"
