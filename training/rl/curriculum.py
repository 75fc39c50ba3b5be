"""A curriculum that retires tasks the policy always solves or never solves.

Such tasks give groups with no reward variance: no gradient, only sampling cost. Each task
keeps a window of its most recent outcomes; once the window holds ``min_samples`` outcomes
and the success rate is >= ``solved_rate`` or <= ``unsolved_rate``, the task is retired
for the rest of the run. Sampling draws active tasks, weighted per kind by the task mix.
"""
from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CurriculumTask:
    """What the curriculum needs to know about a task."""

    task_id: str
    kind: str


class TaskCurriculum:
    """Active/retired task sets and per-task outcome windows. Picklable; ``state``/``restore`` for checkpoints."""

    def __init__(
        self,
        tasks: Sequence[CurriculumTask],
        *,
        window: int,
        min_samples: int,
        solved_rate: float,
        unsolved_rate: float,
        kind_weights: dict[str, float] | None = None,
    ) -> None:
        if not tasks:
            raise ValueError("the curriculum needs at least one task")
        if min_samples > window:
            raise ValueError("min_samples cannot exceed the window")
        self.tasks = {task.task_id: task for task in tasks}
        self.window = window
        self.min_samples = min_samples
        self.solved_rate = solved_rate
        self.unsolved_rate = unsolved_rate
        self.kind_weights = dict(kind_weights or {})
        self.outcomes: dict[str, deque[bool]] = {tid: deque(maxlen=window) for tid in self.tasks}
        self.retired: dict[str, str] = {}
        """task id -> "solved" | "unsolved"."""

    def active(self) -> list[str]:
        """Task ids still in play, in catalog order."""
        return [tid for tid in self.tasks if tid not in self.retired]

    def sample(self, count: int, rng: random.Random) -> list[str]:
        """``count`` distinct active task ids (fewer if fewer are active), weighted by kind.

        With ``kind_weights`` set, kinds it gives no positive weight are never drawn.
        """
        pool = self.active()
        weights = [self.kind_weights.get(self.tasks[tid].kind, 0.0) if self.kind_weights else 1.0 for tid in pool]
        pool = [tid for tid, w in zip(pool, weights) if w > 0]
        weights = [w for w in weights if w > 0]
        chosen: list[str] = []
        while pool and len(chosen) < count:
            index = rng.choices(range(len(pool)), weights=weights, k=1)[0]
            chosen.append(pool.pop(index))
            weights.pop(index)
        return chosen

    def record(self, task_id: str, solved: Sequence[bool]) -> str | None:
        """Add outcomes of ``task_id``; returns "solved"/"unsolved" if this retires it, else None."""
        window = self.outcomes[task_id]
        window.extend(bool(s) for s in solved)
        if task_id in self.retired or len(window) < self.min_samples:
            return None
        rate = success_rate(list(window))
        verdict = retirement_verdict(rate, solved_rate=self.solved_rate, unsolved_rate=self.unsolved_rate)
        if verdict is not None:
            self.retired[task_id] = verdict
        return verdict

    def state(self) -> dict[str, Any]:
        """JSON-ready snapshot (saved with each checkpoint)."""
        return {"outcomes": {tid: list(w) for tid, w in self.outcomes.items() if w}, "retired": dict(self.retired)}

    def restore(self, state: dict[str, Any]) -> None:
        """Inverse of ``state`` (tasks no longer in the pool are ignored)."""
        for tid, outcomes in state.get("outcomes", {}).items():
            if tid in self.outcomes:
                self.outcomes[tid].extend(bool(o) for o in outcomes)
        self.retired = {tid: v for tid, v in state.get("retired", {}).items() if tid in self.tasks}


def success_rate(outcomes: Sequence[bool]) -> float:
    """Share of True outcomes (0 for none)."""
    return sum(outcomes) / len(outcomes) if outcomes else 0.0


def retirement_verdict(rate: float, *, solved_rate: float, unsolved_rate: float) -> str | None:
    """"solved" if rate >= solved_rate, "unsolved" if rate <= unsolved_rate, else None."""
    if rate >= solved_rate:
        return "solved"
    if rate <= unsolved_rate:
        return "unsolved"
    return None
