"""Celery tasks of the training app: thin adapters over training.services."""
from __future__ import annotations

from celery import shared_task

from training.services.runs import retrain_if_due, run_execute_local


@shared_task(name="training.retrain_if_due")
def retrain_if_due_task() -> list[str]:
    """Beat's periodic check: start a retraining run for each organization that is due."""
    return retrain_if_due()


@shared_task(name="training.rl_run_execute")
def rl_run_execute_task(run_id: str) -> str:
    """Execute a queued RL run with local Ray in this worker (the embedded default)."""
    return run_execute_local(run_id=run_id).status
