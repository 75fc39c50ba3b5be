"""How a running job tells Flywheel its progress: the ``Reporter`` interface and its HTTP form.

The driver calls ``report`` after every step (and at start/end); the answer says whether to
keep going, which is how a stop requested in Flywheel reaches a job running anywhere.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

logger = logging.getLogger("flywheel.rl")

REPORT_PATH = "/api/v1/training/runs/{run_id}/report"


@dataclass(frozen=True)
class RunReport:
    """One progress report of a running job."""

    step: int
    """Optimizer steps done."""
    total_steps: int
    metrics: dict[str, float] = field(default_factory=dict)
    """This step's namespaced metrics (``reward/mean``, ``loss/policy``, ...); empty at start."""
    logs: tuple[str, ...] = ()
    """New log lines since the previous report."""
    checkpoint: str | None = None
    """Checkpoint directory written at this step, if any."""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["logs"] = list(self.logs)
        return data


class Reporter(Protocol):
    """Receives reports; returns False to ask the job to stop (it then ends as "stopped")."""

    def report(self, report: RunReport) -> bool: ...


MAX_UNDELIVERED = 1000
"""Reports kept for re-sending while Flywheel cannot be reached (beyond it, the oldest are dropped)."""


class HttpReporter:
    """POSTs reports to ``<base_url>/api/v1/training/runs/<run_id>/report`` with a bearer token.

    A report that cannot be delivered after ``retries`` attempts (no connection, or a 5xx) is
    kept, and sent again, in order, before the next report: training goes on through an
    outage of Flywheel, and the run's curves lose no step. A report refused with a 4xx is
    logged and dropped (sending it again would not change the answer).
    """

    def __init__(self, base_url: str, run_id: str, *, token: str = "", timeout_s: float = 10.0, retries: int = 3,
                 backoff_s: float = 0.5) -> None:
        self.url = base_url.rstrip("/") + REPORT_PATH.format(run_id=run_id)
        self.token = token or os.environ.get("FLYWHEEL_REPORT_TOKEN", "")
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.undelivered: list[RunReport] = []

    def report(self, report: RunReport) -> bool:
        queue, self.undelivered = [*self.undelivered, report], []
        keep_going = True
        for index, item in enumerate(queue):
            answer = self._send(item)
            if answer is None:
                self.undelivered = queue[index:][-MAX_UNDELIVERED:]
                logger.warning("%d report(s) kept until %s answers again", len(self.undelivered), self.url)
                return keep_going
            keep_going = keep_going and answer
        return keep_going

    def _send(self, report: RunReport) -> bool | None:
        """The answer's "keep going", or None when the report could not be delivered."""
        import requests

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        for attempt in range(self.retries):
            try:
                response = requests.post(self.url, json=report.to_json(), headers=headers, timeout=self.timeout_s)
            except requests.RequestException as error:
                logger.warning("report to %s failed (%s), attempt %d", self.url, error, attempt + 1)
                time.sleep(self.backoff_s * (attempt + 1))
                continue
            if response.status_code == 200:
                return not bool(response.json().get("stop", False))
            logger.warning("report to %s answered %d: %s", self.url, response.status_code, response.text[:300])
            if response.status_code < 500:
                return True
            time.sleep(self.backoff_s * (attempt + 1))
        return None
