"""The frameworks' wire formats, shared by the HTTP views and the integrations (pure).

OpenRLHF: ``{"query": [prompt + response], "prompts": [prompt], "labels": [task]}`` ->
``{"rewards": [...], "scores": [...], "extra_logs": {name: [...]}}``. ``scores`` feed
OpenRLHF's dynamic filtering, which expects [0, 1]: the verified correctness when known,
else the reward clipped to [0, 1]. ``extra_logs`` carry every component (0 where it had no
value, with ``<name>_ok`` saying which) and the number of hacking flags.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewards.core.scoring import COMPONENTS, ScoredTrajectory


class OpenRlhfRequestError(ValueError):
    def __init__(self, field: str, message: str, *, too_large: bool = False):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.too_large = too_large


def response_of(query: str, prompt: str) -> str:
    """OpenRLHF's query is prompt + response; strip the prompt when it is there."""
    return query[len(prompt):] if prompt and query.startswith(prompt) else query


def trajectory_payload(*, prompt: str, response: str, task: Any = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"prompt": prompt, "response": response}
    if task not in (None, ""):
        payload["task"] = task
    return payload


def openrlhf_payloads(document: Any, *, max_batch: int) -> list[dict[str, Any]]:
    """Trajectory payloads of an OpenRLHF request body. Raises OpenRlhfRequestError."""
    if not isinstance(document, dict):
        raise OpenRlhfRequestError("query", "send {\"query\": [...], \"prompts\": [...], \"labels\": [...]}")
    queries = document.get("query")
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise OpenRlhfRequestError("query", "must be a list of strings (prompt + response)")
    if len(queries) > max_batch:
        raise OpenRlhfRequestError("query", f"{len(queries)} queries; send at most {max_batch}", too_large=True)
    prompts = document.get("prompts")
    if prompts is None:
        prompts = [""] * len(queries)
    if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts) or len(prompts) != len(queries):
        raise OpenRlhfRequestError("prompts", "must be a list of strings, one per query")
    labels = document.get("labels")
    if labels is None:
        labels = [None] * len(queries)
    if not isinstance(labels, list) or len(labels) != len(queries):
        raise OpenRlhfRequestError("labels", "must be a list, one label (task id or JSON with task_id) per query")
    return [trajectory_payload(prompt=p, response=response_of(q, p), task=label)
            for q, p, label in zip(queries, prompts, labels)]


def score_in_unit_interval(result: ScoredTrajectory) -> float:
    correctness = result.components["correctness"]
    if correctness.status == "ok" and correctness.value is not None:
        return float(correctness.value)
    return min(1.0, max(0.0, result.reward))


def openrlhf_answer(results: Sequence[ScoredTrajectory]) -> dict[str, Any]:
    extra: dict[str, list[float]] = {}
    for name in COMPONENTS:
        extra[name] = [float(r.components[name].value or 0.0) for r in results]
        extra[f"{name}_ok"] = [1.0 if r.components[name].status == "ok" else 0.0 for r in results]
    extra["hacking_flags"] = [float(len(r.flags)) for r in results]
    return {"rewards": [r.reward for r in results], "scores": [score_in_unit_interval(r) for r in results],
            "extra_logs": extra}


def results_from_dicts(results: Sequence[dict[str, Any]]) -> list[ScoredTrajectory]:
    """ScoredTrajectory objects back from the service's JSON results."""
    from rewards.core.detectors import Flag
    from rewards.core.scoring import ComponentScore

    return [ScoredTrajectory(
        reward=float(item["reward"]),
        components={name: ComponentScore(**value) for name, value in item["components"].items()},
        flags=tuple(Flag(**flag) for flag in item["flags"]),
        reward_model_version=item.get("reward_model_version"),
        task_id=item.get("task_id"),
    ) for item in results]
