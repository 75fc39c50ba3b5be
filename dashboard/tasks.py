"""Celery tasks the dashboard dispatches (thin adapters over telemetry services)."""
from __future__ import annotations

import logging

from celery import shared_task

from dashboard.compaction import rollups_compact_all
from dashboard.pipeline import pipeline_status_forget
from telemetry.services import dead_letters_replay

logger = logging.getLogger("flywheel.dashboard.tasks")


@shared_task(name="dashboard.dead_letters_replay")
def dead_letters_replay_task() -> int:
    """Replay the dead-letter queue (Kafka DLQ topic or embedded table); return how many.

    Safe to run twice: the store is idempotent on event_id and the replay marks progress.
    """
    replayed = dead_letters_replay()
    pipeline_status_forget()
    logger.info("replayed %d dead-lettered message(s)", replayed)
    return replayed


@shared_task(name="dashboard.rollups_compact")
def rollups_compact_task() -> int:
    """Compact complete days of every org's hourly rollups (run it every minute from beat)."""
    results = rollups_compact_all()
    return sum(r.days_rebuilt for r in results)
