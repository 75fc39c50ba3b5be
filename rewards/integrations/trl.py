"""TRL reward function: ``GRPOTrainer(reward_funcs=[reward_func], ...)``.

TRL calls ``reward_func(prompts=..., completions=..., **columns)`` with every other dataset
column as a keyword argument; put the environment task in a ``task_id`` column (an id or
JSON with ``task_id``). Prompts and completions are strings (standard datasets) or lists of
chat messages (conversational datasets).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rewards.integrations.client import score_payloads
from rewards.integrations.protocol import trajectory_payload


def _payload(prompt: Any, completion: Any, task: Any) -> dict[str, Any]:
    if isinstance(completion, list):
        messages = (list(prompt) if isinstance(prompt, list) else [{"role": "user", "content": prompt or ""}])
        payload: dict[str, Any] = {"messages": messages + list(completion)}
        if task not in (None, ""):
            payload["task"] = task
        return payload
    return trajectory_payload(prompt=prompt if isinstance(prompt, str) else "", response=completion, task=task)


def reward_func(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """One reward per completion, from the same scorer as the service."""
    tasks = kwargs.get("task_id") or [None] * len(completions)
    payloads = [_payload(prompt, completion, task) for prompt, completion, task in zip(prompts, completions, tasks)]
    return [result.reward for result in score_payloads(payloads)]
