"""The model registry with lineage, canary rollouts and every decision taken on them.

A ``ModelVersion`` is one policy an organization can serve; its ``name`` is the
``model.version`` its telemetry carries. States::

    candidate --gate passed + deployed--> canary --promoted--> serving --next promotion--> retired
                                            └--rolled back--> rolled_back

At most one version per organization is ``serving`` and at most one is ``canary``
(database constraints). ``Rollout`` is one canary attempt of a candidate beside the
serving version (the control); ``CanaryDecision`` records every judgement with its numbers.
"""
from __future__ import annotations

from django.db import models

from telemetry.models import Organization


class ModelVersionState(models.TextChoices):
    CANDIDATE = "candidate", "Candidate"
    CANARY = "canary", "Canary"
    SERVING = "serving", "Serving"
    RETIRED = "retired", "Retired"
    ROLLED_BACK = "rolled_back", "Rolled back"


class ArtifactKind(models.TextChoices):
    FULL = "full", "Full Hugging Face checkpoint"
    LORA = "lora", "PEFT LoRA adapter"


class ModelVersion(models.Model):
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="model_versions")
    name = models.CharField(max_length=128, help_text="The version name telemetry carries (model.version) and the served model name.")
    artifact = models.CharField(max_length=1024, help_text="Checkpoint directory (HF safetensors, or a LoRA adapter).")
    artifact_kind = models.CharField(max_length=8, choices=ArtifactKind.choices, default=ArtifactKind.FULL)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    # A plain id, no foreign key: RL runs live in their own model and migration.
    rl_run_id = models.CharField(max_length=64, blank=True, default="")
    reward_model_version = models.CharField(max_length=128, blank=True, default="")
    evaluation = models.JSONField(null=True, blank=True, help_text="The candidate's evaluation report on the held-out split.")
    gate_passed = models.BooleanField(null=True, blank=True)
    gate_result = models.JSONField(null=True, blank=True, help_text="The gate's decision and every number behind it.")
    state = models.CharField(max_length=16, choices=ModelVersionState.choices, default=ModelVersionState.CANDIDATE)
    created_at = models.DateTimeField(auto_now_add=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="model_version_unique_org_name"),
            models.UniqueConstraint(fields=["org"], condition=models.Q(state="serving"), name="model_version_one_serving_per_org"),
            models.UniqueConstraint(fields=["org"], condition=models.Q(state="canary"), name="model_version_one_canary_per_org"),
        ]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.org.slug}/{self.name} ({self.state})"


class RolloutStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PROMOTED = "promoted", "Promoted"
    ROLLED_BACK = "rolled_back", "Rolled back"
    FAILED = "failed", "Deploy failed"


class Rollout(models.Model):
    """One canary of ``candidate`` beside ``control`` (the serving version when it started)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="rollouts")
    candidate = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="rollouts_as_candidate")
    control = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="rollouts_as_control")
    backend = models.CharField(max_length=32)
    endpoint = models.CharField(max_length=512, help_text="Base URL of the server the candidate was deployed to.")
    canary_share = models.FloatField()
    min_sessions_per_arm = models.PositiveIntegerField()
    judge_config = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=RolloutStatus.choices, default=RolloutStatus.RUNNING)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField()
    deadline = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org"], condition=models.Q(status="running"), name="rollout_one_running_per_org"),
        ]
        ordering = ["-started_at", "-id"]


class CanaryVerdict(models.TextChoices):
    PROMOTE = "promote", "Promote"
    ROLLBACK = "rollback", "Roll back"
    WAIT = "wait", "Keep waiting"


class CanaryDecision(models.Model):
    """One judgement of a rollout: the verdict, why, and every number behind it."""

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="decisions")
    created_at = models.DateTimeField(auto_now_add=True)
    verdict = models.CharField(max_length=16, choices=CanaryVerdict.choices)
    reason = models.TextField()
    sessions_control = models.PositiveIntegerField()
    sessions_canary = models.PositiveIntegerField()
    metrics = models.JSONField(default=list, help_text="Per metric: values per arm, test, p, Holm-adjusted p, worse/better.")

    class Meta:
        ordering = ["created_at", "id"]
