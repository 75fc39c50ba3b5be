"""verl custom reward function: ``custom_reward_function.path=rewards/integrations/verl.py``
and ``custom_reward_function.name=compute_score``.

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info)`` per
sample; ``ground_truth`` (the dataset's ``reward_model.ground_truth``) is an environment
task id or JSON with ``task_id``. The prompt is taken from ``extra_info["prompt"]`` (or
``"question"``) when the dataset carries it, else the task's own prompt.
"""
from __future__ import annotations

from typing import Any

from rewards.core.scoring import COMPONENTS
from rewards.integrations.client import score_payloads
from rewards.integrations.protocol import trajectory_payload


def compute_score(data_source: str | None, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  **kwargs: Any) -> dict[str, float]:
    """``{"score": reward, <component>: value (0 when unavailable), "<component>_ok": 0|1, "hacking_flags": n}``."""
    info = extra_info or {}
    prompt = info.get("prompt") or info.get("question") or ""
    if not isinstance(prompt, str):
        prompt = str(prompt)
    [result] = score_payloads([trajectory_payload(prompt=prompt, response=solution_str, task=ground_truth)])
    answer: dict[str, float] = {"score": result.reward}
    for name in COMPONENTS:
        component = result.components[name]
        answer[name] = float(component.value or 0.0)
        answer[f"{name}_ok"] = 1.0 if component.status == "ok" else 0.0
    answer["hacking_flags"] = float(len(result.flags))
    return answer
