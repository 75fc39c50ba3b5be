"""How the integrations reach the scorer: over HTTP when ``FLYWHEEL_URL`` and
``FLYWHEEL_API_KEY`` are set, else in-process (the same ``score_trajectories``)."""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from rewards.core.scoring import ScoredTrajectory, ScoringConfig, score_trajectories
from rewards.integrations.protocol import results_from_dicts

HTTP_TIMEOUT_S = 120.0
HTTP_BATCH = 256


class RewardServiceError(RuntimeError):
    """The reward service answered with an error (its message says what to fix)."""


def score_payloads(payloads: Sequence[dict[str, Any]]) -> list[ScoredTrajectory]:
    url = os.environ.get("FLYWHEEL_URL", "").rstrip("/")
    key = os.environ.get("FLYWHEEL_API_KEY", "")
    if url and key:
        return _score_over_http(url, key, payloads)
    return score_trajectories(list(payloads), config=ScoringConfig(), preference_model=_local_model())


def _local_model():
    """The active reward model when Django is configured in this process, else None."""
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return None
    from django.core.exceptions import AppRegistryNotReady, ImproperlyConfigured

    try:
        from rewards.scoring_setup import active_preference_model
        return active_preference_model()
    except (AppRegistryNotReady, ImproperlyConfigured):  # settings named but django.setup() not run here
        return None


def _score_over_http(url: str, key: str, payloads: Sequence[dict[str, Any]]) -> list[ScoredTrajectory]:
    import requests

    results: list[ScoredTrajectory] = []
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {key}"
        for start in range(0, len(payloads), HTTP_BATCH):
            chunk = list(payloads[start:start + HTTP_BATCH])
            answer = session.post(f"{url}/api/v1/rewards/score", json={"trajectories": chunk}, timeout=HTTP_TIMEOUT_S)
            if answer.status_code != 200:
                raise RewardServiceError(f"{url}/api/v1/rewards/score answered {answer.status_code}: {answer.text[:500]}")
            results.extend(results_from_dicts(answer.json()["results"]))
    return results
