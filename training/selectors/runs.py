"""Reads of training runs."""
from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from training.models.runs import FINISHED_STATUSES, TrainingRun


def run_get(*, run_id: Any) -> TrainingRun:
    """The run with ``run_id``; raises ``TrainingRun.DoesNotExist``."""
    return TrainingRun.objects.select_related("org").get(pk=run_id)


def run_list(*, org=None, include_unowned: bool = True, limit: int = 50) -> QuerySet[TrainingRun]:
    """Newest runs first; with ``org``, that org's runs (plus runs of no org when ``include_unowned``)."""
    runs = TrainingRun.objects.select_related("org")
    if org is not None:
        from django.db.models import Q

        runs = runs.filter(Q(org=org) | Q(org__isnull=True)) if include_unowned else runs.filter(org=org)
    return runs.order_by("-created_at")[:limit]


def run_active_exists(*, kind: str) -> bool:
    """True while a run of ``kind`` is queued or running."""
    return TrainingRun.objects.filter(kind=kind).exclude(status__in=FINISHED_STATUSES).exists()


def run_last(*, kind: str) -> TrainingRun | None:
    """The newest run of ``kind``."""
    return TrainingRun.objects.filter(kind=kind).order_by("-created_at").first()


def run_summary(run: TrainingRun) -> dict[str, Any]:
    """JSON-ready view of a run (API and dashboard)."""
    return {
        "id": str(run.pk),
        "kind": run.kind,
        "status": run.status,
        "trigger": run.trigger,
        "backend": run.backend,
        "submission_id": run.submission_id,
        "attempts": run.attempts,
        "step": run.step,
        "total_steps": run.total_steps,
        "progress": round(run.progress, 4),
        "last_metrics": run.last_metrics,
        "metrics": run.metrics,
        "logs_tail": run.logs_tail,
        "artifacts": run.artifacts,
        "result": run.result,
        "error": run.error,
        "lineage": {
            "dataset_snapshot_id": run.dataset_snapshot_id or None,
            "reward_model_version": run.reward_model_version or None,
            "parent_policy": run.parent_policy or None,
            "config": run.config,
        },
        "stop_requested": run.stop_requested,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }
