"""Hacking reports: run the attacker against the detectors and store the result (service),
and read the reports back (selectors)."""
from __future__ import annotations

import time
from collections.abc import Callable

from rewards.core.attacker import (MAX_FALSE_POSITIVE_RATE, MIN_CATCH_RATE, AttackReport, attack_cases,
                                   attack_rewarder, honest_cases)
from rewards.core.detectors import DETECTOR_KINDS, detect
from rewards.core.trajectory import parse_trajectory
from rewards.models import HackingReport
from training.environment import task_get


def detected_kinds(payload: dict) -> set[str]:
    trajectory = parse_trajectory(payload)
    task = task_get(trajectory.task_id) if trajectory.task_id else None
    return {flag.detector for flag in detect(trajectory, task=task)}


def hacking_report_create(*, tasks: int = 12, progress: Callable[[int], None] | None = None,
                          on_total: Callable[[int], None] | None = None) -> tuple[HackingReport, AttackReport]:
    """Attack the detectors with ``tasks`` honest bases (every kind x disguise x format) and store the report."""
    started = time.perf_counter()
    cases = [*honest_cases(limit=tasks), *attack_cases(limit=tasks)]
    if on_total is not None:
        on_total(len(cases))
    report = attack_rewarder(detected_kinds, cases, DETECTOR_KINDS, progress=progress)
    row = HackingReport.objects.create(
        honest_count=report.honest_count,
        attack_count=report.attack_count,
        kinds={kind: {"attacks": r.attacks, "caught": r.caught, "catch_rate": r.catch_rate, "honest": r.honest,
                      "false_positives": r.false_positives, "false_positive_rate": r.false_positive_rate}
               for kind, r in report.kinds.items()},
        disguises={name: {"attacks": total, "caught": hit, "catch_rate": hit / total if total else 1.0}
                   for name, (total, hit) in report.disguises.items()},
        passed=report.passed,
        min_catch_rate=MIN_CATCH_RATE,
        max_false_positive_rate=MAX_FALSE_POSITIVE_RATE,
        duration_s=time.perf_counter() - started,
    )
    return row, report


def hacking_report_series(*, limit: int = 50) -> list[dict]:
    """The latest ``limit`` reports, oldest first, for the dashboard."""
    rows = list(HackingReport.objects.order_by("-created_at")[:limit])
    return [{"created_at": row.created_at.isoformat(), "passed": row.passed, "honest_count": row.honest_count,
             "attack_count": row.attack_count, "kinds": row.kinds, "disguises": row.disguises}
            for row in reversed(rows)]
