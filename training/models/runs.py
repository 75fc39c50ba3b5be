"""A training run as a database record: the source of truth the Ray job and commands move forward."""
from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class RunKind(models.TextChoices):
    RL = "rl", "RL (GRPO/DAPO)"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"


FINISHED_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.STOPPED})


class RunBackend(models.TextChoices):
    LOCAL = "local", "local Ray, in-process"
    RAY_JOB = "ray_job", "Ray Jobs API"


class TrainingRun(models.Model):
    """One run: queued -> running -> succeeded | failed | stopped.

    ``id`` is also the Ray Jobs submission id (a resumed attempt appends ``-r<n>``).
    ``data_key`` identifies the data a scheduled run trains on; it is unique per kind, so
    two triggers can never start two runs for the same data.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=RunKind.choices, default=RunKind.RL)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    org = models.ForeignKey("telemetry.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="training_runs")
    config = models.JSONField(default=dict, help_text="The job's config (training.rl.config.RLConfig as JSON).")
    backend = models.CharField(max_length=16, choices=RunBackend.choices, default=RunBackend.LOCAL)
    submission_id = models.CharField(max_length=80, blank=True, help_text="Ray Jobs submission id of the current attempt.")
    attempts = models.PositiveIntegerField(default=0)
    stop_requested = models.BooleanField(default=False)

    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, help_text="{metric key: [[step, value], ...]}: the curves.")
    last_metrics = models.JSONField(default=dict)
    logs_tail = models.TextField(blank=True)
    artifacts = models.JSONField(default=dict, help_text="checkpoint_dir and the checkpoints written.")
    result = models.JSONField(default=dict, help_text="Final summary (held-out success, wall time...).")
    error = models.TextField(blank=True)

    # lineage
    dataset_snapshot_id = models.CharField(max_length=80, blank=True)
    reward_model_version = models.CharField(max_length=80, blank=True)
    parent_policy = models.CharField(max_length=300, blank=True)
    data_key = models.CharField(max_length=200, null=True, blank=True)
    trigger = models.CharField(max_length=32, default="manual")

    report_token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "training"
        ordering = ("-created_at",)
        constraints = [
            models.UniqueConstraint(fields=["kind", "data_key"], condition=Q(data_key__isnull=False), name="training_run_unique_data"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.id} ({self.status})"

    @property
    def progress(self) -> float:
        """Share of steps done, 0..1."""
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class RetrainSchedule(models.Model):
    """When to retrain for one organization; edited at run time (admin, shell), read by ``retrain_if_due``.

    Beat calls ``retrain_if_due`` every ``TRAINING_RETRAIN_CHECK_S`` seconds; each schedule
    is checked at most every ``interval_s`` and starts a run only when enough new data arrived.
    """

    org = models.OneToOneField("telemetry.Organization", on_delete=models.CASCADE, related_name="retrain_schedule")
    enabled = models.BooleanField(default=True)
    interval_s = models.PositiveIntegerField(default=3600, help_text="Least seconds between two checks.")
    min_new_events = models.PositiveIntegerField(default=1000, help_text="Telemetry events since the last snapshot needed to retrain.")
    min_new_pairs = models.PositiveIntegerField(default=0, help_text="New preference pairs (over the last run's snapshot) needed to start an RL run.")
    reward_model_min_pairs = models.PositiveIntegerField(default=50, help_text="Training pairs needed to retrain the reward model first.")
    reward_model_kind = models.CharField(max_length=16, default="bradley_terry")
    rl_config = models.JSONField(default=dict, help_text="RLConfig fields of the runs this schedule starts.")
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        app_label = "training"

    def __str__(self) -> str:
        return f"retrain schedule for {self.org_id}"
