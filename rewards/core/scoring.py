"""The scorer: a trajectory's reward as a weighted sum of named components, always with
its breakdown (DESIGN.md "Reward, and reward hacking").

Components (``COMPONENTS``, the explicit registry order):

* ``correctness`` - the environment's verifiers re-run when ``task`` is a known task id:
  1 when the task succeeds, else the share of hidden tests passed; without a task, the
  client's ``tests`` report (passed / total); otherwise unavailable.
* ``preference`` - the active reward model's score, squashed to (-1, 1) with tanh.
* ``style``/``reuse`` - process terms: the repo's naming and indentation kept, its helper
  reused (from the same verification run).
* ``hacking`` - minus the number of distinct hack kinds detected (``detectors.DETECTORS``).
* ``overlong`` - DAPO's soft overlong penalty on output tokens (0 up to
  ``max_response_tokens - overlong_buffer_tokens``, then linear down to -1 at the limit).

Every component has a time limit. One that times out is reported with status "timeout" and
value None (it adds nothing to the reward, visibly); one with no input is "unavailable".
Scoring is deterministic: the same trajectories and model give the same answer.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from rewards.core.detectors import DETECTOR_KINDS, Flag, detect
from rewards.core.trajectory import Trajectory, parse_trajectory
from training.environment import Task, Verdict, task_get, verify

COMPONENTS: tuple[str, ...] = ("correctness", "preference", "style", "reuse", "hacking", "overlong")
STATUSES: tuple[str, ...] = ("ok", "timeout", "unavailable")
_POLL_S = 0.05


class PreferenceModel(Protocol):
    """What ``rewards.selectors.reward_model_active()`` returns: a loaded reward model."""

    version: str

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> list[float]:
        """One scalar per (prompt, response) pair; higher is preferred."""
        ...


@dataclass(frozen=True)
class ScoringConfig:
    """Weights, time limits and the overlong penalty of one scorer."""

    correctness_weight: float = 1.0
    """Weight of verifiable correctness (value in [0, 1])."""
    preference_weight: float = 0.5
    """Weight of the reward model's preference (value in (-1, 1))."""
    style_weight: float = 0.1
    """Weight of keeping the repo's naming and indentation (value 0 or 1)."""
    reuse_weight: float = 0.1
    """Weight of calling the repo's helper instead of re-implementing it (value 0 or 1)."""
    hacking_weight: float = 2.0
    """Weight of the hacking penalty (value: minus the number of distinct kinds flagged)."""
    overlong_weight: float = 1.0
    """DAPO's overlong penalty factor (value in [-1, 0])."""
    max_response_tokens: int = 4096
    """DAPO's L_max: responses at or beyond this many output tokens get the full penalty."""
    overlong_buffer_tokens: int = 1024
    """DAPO's L_cache: the penalty grows linearly over the last this many tokens before L_max."""
    correctness_time_limit_s: float = 10.0
    """Time limit of one verification (it runs the hidden tests in a sandbox); also bounds style/reuse."""
    preference_time_limit_s: float = 5.0
    """Time limit of one reward-model call for the whole batch."""
    hacking_time_limit_s: float = 2.0
    """Time limit of running every detector on one trajectory."""
    workers: int = 4
    """Threads that run verifications and detectors side by side."""

    def weight(self, component: str) -> float:
        return float(getattr(self, f"{component}_weight"))

    def __post_init__(self) -> None:
        if self.max_response_tokens <= 0 or not 0 <= self.overlong_buffer_tokens <= self.max_response_tokens:
            raise ValueError("need max_response_tokens > 0 and 0 <= overlong_buffer_tokens <= max_response_tokens")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")


@dataclass(frozen=True)
class ComponentScore:
    """``value`` is None unless ``status`` is "ok"; ``detail`` says where the value came from or why not."""

    value: float | None
    weight: float
    status: str
    detail: str = ""


@dataclass(frozen=True)
class ScoredTrajectory:
    reward: float
    components: dict[str, ComponentScore]
    flags: tuple[Flag, ...]
    reward_model_version: str | None
    task_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "reward": self.reward,
            "components": {name: asdict(component) for name, component in self.components.items()},
            "flags": [asdict(flag) for flag in self.flags],
            "reward_model_version": self.reward_model_version,
            "task_id": self.task_id,
        }


# --- maths ----------------------------------------------------------------------------------

def overlong_penalty(length: int, *, max_length: int, buffer: int) -> float:
    """DAPO's soft overlong punishment: 0 for length <= max - buffer, then
    ((max - buffer) - length) / buffer down to -1 at max, and -1 beyond."""
    expected = max_length - buffer
    if length <= expected:
        return 0.0
    if length >= max_length or buffer == 0:
        return -1.0
    return (expected - length) / buffer


def squash_preference(score: float) -> float:
    """A reward model's unbounded score mapped to (-1, 1)."""
    return math.tanh(score)


def weighted_reward(components: Mapping[str, ComponentScore]) -> float:
    """Sum of weight * value over the components that produced a value."""
    return float(sum(c.weight * c.value for c in components.values() if c.status == "ok" and c.value is not None))


def output_length(trajectory: Trajectory) -> int:
    """Output tokens: the client's usage when sent, else whitespace tokens of the response
    (the environment's ``output_tokens_hint``)."""
    if trajectory.output_tokens is not None:
        return trajectory.output_tokens
    return len((trajectory.response or trajectory.action_text).split())


# --- running components under time limits -------------------------------------------------

_pools: dict[str, ThreadPoolExecutor] = {}
_queued: dict[int, int] = {}  # id(pool) -> jobs submitted and not started yet (every caller's)
_queued_lock = threading.Lock()


def _pool(name: str, workers: int) -> ThreadPoolExecutor:
    """A process-wide pool per purpose. Detectors are pure Python: more threads would only
    fight over the interpreter lock, so they get one; verifications wait on sandboxed
    subprocesses and the reward model releases the lock in torch, so they get ``workers``."""
    key = f"{name}:{workers}"
    if key not in _pools:
        _pools[key] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"reward-{name}")
    return _pools[key]


@dataclass
class _Job:
    """A component run in a pool. ``started`` is set by the worker so that the limit counts
    the component's own time; ``not_after`` bounds the time it may wait in the queue (its
    share of the limits of the jobs ahead of it), so a hung component cannot stall the rest."""

    limit_s: float
    not_after: float
    future: Future | None = None
    started: list[float] = field(default_factory=list)
    timed_out: bool = False


def _submit_all(pool: ThreadPoolExecutor, workers: int, functions: Sequence[Callable[[], Any] | None],
                limit_s: float) -> list[_Job | None]:
    submitted = time.perf_counter()
    jobs: list[_Job | None] = []
    for function in functions:
        if function is None:
            jobs.append(None)
            continue
        with _queued_lock:
            ahead = _queued.get(id(pool), 0)
            _queued[id(pool)] = ahead + 1
        job = _Job(limit_s=limit_s, not_after=submitted + limit_s * (ahead // workers + 1))

        def run(job: _Job = job, function: Callable[[], Any] = function) -> Any:
            with _queued_lock:
                _queued[id(pool)] -= 1
            job.started.append(time.perf_counter())
            return function()

        job.future = pool.submit(run)
        jobs.append(job)
    return jobs


def _settle(jobs: Sequence[_Job]) -> None:
    """Wait until every job is done or over its limit (marked ``timed_out``)."""
    for job in jobs:
        while not job.future.done():
            now = time.perf_counter()
            deadline = job.started[0] + job.limit_s if job.started else job.not_after
            if now >= deadline:
                job.timed_out = True
                break
            wait_futures([job.future], timeout=min(deadline - now, _POLL_S))


def _outcome(job: _Job | None) -> tuple[str, Any]:
    """("ok", result), ("timeout", None), ("error", exception) or ("unavailable", None)."""
    if job is None:
        return "unavailable", None
    if job.timed_out:
        return "timeout", None
    error = job.future.exception()
    return ("error", error) if error is not None else ("ok", job.future.result())


# --- the scorer -------------------------------------------------------------------------------

def _known_task(task_id: str | None) -> Task | None:
    if task_id is None:
        return None
    try:
        return task_get(task_id)
    except KeyError:
        return None


def score_trajectories(trajectories: Sequence[Trajectory | Mapping[str, Any]], *, config: ScoringConfig,
                       preference_model: PreferenceModel | None = None) -> list[ScoredTrajectory]:
    """Score each trajectory (parsed, or a payload ``parse_trajectory`` accepts; raises
    TrajectoryError for a bad payload). Results are in input order."""
    parsed = [t if isinstance(t, Trajectory) else parse_trajectory(t, prefix=f"trajectories[{i}]")
              for i, t in enumerate(trajectories)]
    tasks = [_known_task(t.task_id) for t in parsed]
    verify_jobs = _submit_all(_pool("verify", config.workers), config.workers, [
        (lambda task=task, t=t: verify(task, t.action_text)) if task is not None else None
        for task, t in zip(tasks, parsed)], config.correctness_time_limit_s)
    detect_jobs = _submit_all(_pool("detect", 1), 1, [
        (lambda task=task, t=t: detect(t, task=task)) for task, t in zip(tasks, parsed)], config.hacking_time_limit_s)
    preference_job = None
    if preference_model is not None and parsed:
        prompts = [t.prompt for t in parsed]
        responses = [t.response or t.action_text for t in parsed]
        [preference_job] = _submit_all(_pool("preference", 1), 1, [lambda: preference_model.score(prompts, responses)],
                                       config.preference_time_limit_s)
    _settle([job for job in (*verify_jobs, *detect_jobs, preference_job) if job is not None])
    preference_state, preference_scores = _outcome(preference_job)
    version = preference_model.version if preference_model is not None else None
    results = []
    for index, trajectory in enumerate(parsed):
        components = {
            **_verification_components(trajectory, tasks[index], _outcome(verify_jobs[index]), config),
            "preference": _preference_component(preference_state, preference_scores, index, len(parsed), config),
        }
        flags, hacking = _hacking_component(_outcome(detect_jobs[index]), config)
        components["hacking"] = hacking
        components["overlong"] = ComponentScore(
            overlong_penalty(output_length(trajectory), max_length=config.max_response_tokens,
                             buffer=config.overlong_buffer_tokens),
            config.overlong_weight, "ok", f"{output_length(trajectory)} output tokens")
        ordered = {name: components[name] for name in COMPONENTS}
        results.append(ScoredTrajectory(weighted_reward(ordered), ordered, flags, version, trajectory.task_id))
    return results


def _verification_components(trajectory: Trajectory, task: Task | None, outcome: tuple[str, Any],
                             config: ScoringConfig) -> dict[str, ComponentScore]:
    state, verdict = outcome
    weights = {name: config.weight(name) for name in ("correctness", "style", "reuse")}
    if task is None:
        reason = f"unknown task id {trajectory.task_id!r}" if trajectory.task_id else "no task"
        if trajectory.tests is not None and trajectory.tests.total > 0:
            correctness = ComponentScore(trajectory.tests.passed / trajectory.tests.total, weights["correctness"],
                                         "ok", "reported by the client")
        else:
            correctness = ComponentScore(None, weights["correctness"], "unavailable", f"{reason} and no test report")
        return {"correctness": correctness,
                "style": ComponentScore(None, weights["style"], "unavailable", reason),
                "reuse": ComponentScore(None, weights["reuse"], "unavailable", reason)}
    if state != "ok":
        status = "timeout" if state == "timeout" else "unavailable"
        detail = (f"verification exceeded {config.correctness_time_limit_s:g} s" if state == "timeout"
                  else f"verification failed: {verdict}")
        return {name: ComponentScore(None, weight, status, detail) for name, weight in weights.items()}
    return {
        "correctness": ComponentScore(_correctness_value(verdict), weights["correctness"], "ok",
                                      f"verified: {verdict.tests_passed}/{verdict.tests_total} tests, "
                                      f"success={verdict.success}"),
        "style": _binary(verdict.style_ok, weights["style"], "repo conventions"),
        "reuse": _binary(verdict.reused_helper, weights["reuse"], "repo helper"),
    }


def _correctness_value(verdict: Verdict) -> float:
    if verdict.success:
        return 1.0
    return verdict.tests_passed / verdict.tests_total if verdict.tests_total else 0.0


def _binary(value: bool | None, weight: float, what: str) -> ComponentScore:
    if value is None:
        return ComponentScore(None, weight, "unavailable", f"no code to check against the {what}")
    return ComponentScore(1.0 if value else 0.0, weight, "ok", what)


def _preference_component(state: str, scores: Any, index: int, count: int, config: ScoringConfig) -> ComponentScore:
    weight = config.preference_weight
    if state == "unavailable":
        return ComponentScore(None, weight, "unavailable", "no active reward model")
    if state == "timeout":
        return ComponentScore(None, weight, "timeout", f"reward model exceeded {config.preference_time_limit_s:g} s")
    if state == "error" or not isinstance(scores, (list, tuple)) or len(scores) != count:
        return ComponentScore(None, weight, "unavailable", f"reward model failed: {scores!r}"[:200])
    return ComponentScore(squash_preference(float(scores[index])), weight, "ok", f"raw score {float(scores[index]):.4f}")


def _hacking_component(outcome: tuple[str, Any], config: ScoringConfig) -> tuple[tuple[Flag, ...], ComponentScore]:
    state, flags = outcome
    weight = config.hacking_weight
    if state == "timeout":
        return (), ComponentScore(None, weight, "timeout", f"detectors exceeded {config.hacking_time_limit_s:g} s")
    if state != "ok":
        return (), ComponentScore(None, weight, "unavailable", f"detectors failed: {flags}")
    kinds = sorted({flag.detector for flag in flags}, key=DETECTOR_KINDS.index)
    return tuple(flags), ComponentScore(-float(len(kinds)) or 0.0, weight, "ok",
                                        ", ".join(kinds) if kinds else "no hacking detected")
