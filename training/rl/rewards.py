"""Reward functions the rollouts call: one small interface, three real sources.

A reward function takes trajectories (prompt, response, environment task id) and returns,
per trajectory, the scalar reward with its named components (value, weight, status), as
Flywheel's reward service answers ``POST /api/v1/rewards/score``. Sources, in an explicit
registry (``REWARD_SOURCES``):

- "scorer"      the shared scorer in-process (``rewards.core.scoring.score_trajectories``);
                the environment verifier stands in where that module is not installed;
- "environment" the environment's objective verifier (``training.environment.verify``);
- "http"        Flywheel's reward service over HTTP.

Pure Python: no Django import (the shared scorer is itself pure).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

SCORE_PATH = "/api/v1/rewards/score"


@dataclass(frozen=True)
class Trajectory:
    """One response to one environment task, as sent to the reward service."""

    prompt: str
    response: str
    task: str
    """Environment task id (makes correctness verifiable)."""

    def to_json(self) -> dict[str, str]:
        return {"prompt": self.prompt, "response": self.response, "task": self.task}


@dataclass(frozen=True)
class ScoredTrajectory:
    """The reward of one trajectory and why."""

    reward: float
    components: dict[str, float] = field(default_factory=dict)
    """Component name -> value (unweighted), for ``reward/<component>/mean``."""
    flags: tuple[str, ...] = ()
    """Reward-hacking and other flags the scorer raised."""
    reward_model_version: str | None = None


class RewardFunction(Protocol):
    """Scores a batch of trajectories, in order."""

    def __call__(self, trajectories: Sequence[Trajectory]) -> list[ScoredTrajectory]: ...


def scored_from_service(result: dict[str, Any]) -> ScoredTrajectory:
    """One item of the reward service's ``results`` (or the shared scorer's dict form) -> ScoredTrajectory."""
    components = {
        str(name): float(part["value"]) if isinstance(part, dict) else float(part)
        for name, part in (result.get("components") or {}).items()
        if not isinstance(part, dict) or part.get("value") is not None
    }
    return ScoredTrajectory(
        reward=float(result["reward"]),
        components=components,
        flags=tuple(str(f.get("kind", f)) if isinstance(f, dict) else str(f) for f in result.get("flags") or ()),
        reward_model_version=result.get("reward_model_version"),
    )


def score_distinct(reward_fn: RewardFunction, trajectories: Sequence[Trajectory]) -> list[ScoredTrajectory]:
    """Score each distinct trajectory once and fan the scores back out, in order.

    Scoring is deterministic, so this is exact; a group often repeats a response (a small
    policy at temperature 1 gives the same command several times), and each repeat would cost a
    verifier run or a reward-service row.
    """
    first: dict[Trajectory, int] = {}
    for trajectory in trajectories:
        first.setdefault(trajectory, len(first))
    scores = reward_fn(list(first))
    return [scores[first[trajectory]] for trajectory in trajectories]


class EnvironmentReward:
    """The environment's verifier as a reward: correctness, tool-call validity, hack penalty.

    reward = 1.0 * correctness + 0.2 * tool_calls_ok - 1.0 * hacked, where correctness is
    1 when the verdict succeeds, tool_calls_ok is the share of valid tool calls (0 with
    none) and hacked is 1 when the verifier detected any hack.
    """

    WEIGHTS = {"correctness": 1.0, "tool_calls_ok": 0.2, "hacked": -1.0}

    def __call__(self, trajectories: Sequence[Trajectory]) -> list[ScoredTrajectory]:
        from training.environment import task_get, verify

        scored = []
        for trajectory in trajectories:
            verdict = verify(task_get(trajectory.task), trajectory.response)
            calls = verdict.tool_calls
            components = {
                "correctness": 1.0 if verdict.success else 0.0,
                "tool_calls_ok": sum(c.ok for c in calls) / len(calls) if calls else 0.0,
                "hacked": 1.0 if verdict.hacks else 0.0,
            }
            reward = sum(self.WEIGHTS[name] * value for name, value in components.items())
            scored.append(ScoredTrajectory(reward=reward, components=components, flags=tuple(verdict.hacks)))
        return scored


class SharedScorerReward:
    """``rewards.core.scoring.score_trajectories`` in-process: the same scorer the service runs."""

    def __init__(self, score_trajectories: Callable[..., Any], scoring_config: Any) -> None:
        self.score_trajectories = score_trajectories
        self.scoring_config = scoring_config

    def __call__(self, trajectories: Sequence[Trajectory]) -> list[ScoredTrajectory]:
        results = self.score_trajectories([t.to_json() for t in trajectories], config=self.scoring_config)
        return [scored_from_service(r if isinstance(r, dict) else _as_dict(r)) for r in results]


class HttpReward:
    """Flywheel's reward service: ``POST <endpoint>/api/v1/rewards/score``, over one kept-alive
    connection (a ``requests.Session`` made on first use) for every step of the run."""

    def __init__(self, endpoint: str, *, api_key: str = "", timeout_s: float = 60.0, batch_size: int = 64) -> None:
        self.url = endpoint.rstrip("/") + SCORE_PATH
        self.api_key = api_key or os.environ.get("FLYWHEEL_API_KEY", "")
        self.timeout_s = timeout_s
        self.batch_size = batch_size
        self._session: Any = None

    def _session_get(self) -> Any:
        if self._session is None:
            import requests

            self._session = requests.Session()
            if self.api_key:
                self._session.headers["Authorization"] = f"Bearer {self.api_key}"
        return self._session

    def __call__(self, trajectories: Sequence[Trajectory]) -> list[ScoredTrajectory]:
        session = self._session_get()
        scored: list[ScoredTrajectory] = []
        for start in range(0, len(trajectories), self.batch_size):
            chunk = trajectories[start : start + self.batch_size]
            response = session.post(self.url, json={"trajectories": [t.to_json() for t in chunk]}, timeout=self.timeout_s)
            if response.status_code != 200:
                raise RuntimeError(f"reward service {self.url} answered {response.status_code}: {response.text[:500]}")
            results = response.json()["results"]
            if len(results) != len(chunk):
                raise RuntimeError(f"reward service returned {len(results)} results for {len(chunk)} trajectories")
            scored += [scored_from_service(r) for r in results]
        return scored

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_session": None}  # a copy sent elsewhere opens its own connection


def _as_dict(result: Any) -> dict[str, Any]:
    """A scorer result object (dataclass or object with to_dict) -> the service's dict form."""
    if hasattr(result, "to_dict"):
        return result.to_dict()
    from dataclasses import asdict, is_dataclass

    if is_dataclass(result):
        return asdict(result)
    raise TypeError(f"cannot read a reward result of type {type(result).__name__}")


def _scorer_reward(endpoint: str, api_key: str) -> RewardFunction:
    """The shared scorer with its default weights (no preference model in-process: the
    reward service adds it; here the verifiable, process and hacking terms score)."""
    try:
        from rewards.core.scoring import ScoringConfig, score_trajectories
    except ImportError:  # a cluster shipped without the rewards package
        return EnvironmentReward()
    return SharedScorerReward(score_trajectories, ScoringConfig(workers=1))


# Explicit registry: source name -> factory(endpoint, api_key).
REWARD_SOURCES: dict[str, Callable[[str, str], RewardFunction]] = {
    "scorer": _scorer_reward,
    "environment": lambda endpoint, api_key: EnvironmentReward(),
    "http": lambda endpoint, api_key: HttpReward(endpoint, api_key=api_key),
}


def reward_function_create(source: str, *, endpoint: str = "", api_key: str = "") -> RewardFunction:
    """The reward function of ``source`` (a key of ``REWARD_SOURCES``)."""
    try:
        factory = REWARD_SOURCES[source]
    except KeyError:
        raise ValueError(f"unknown reward source {source!r}; expected one of {sorted(REWARD_SOURCES)}") from None
    return factory(endpoint, api_key)
