"""OpenRLHF reward function: pass this file as ``--remote_rm_url rewards/integrations/openrlhf.py``.

OpenRLHF calls ``reward_func(queries, prompts, labels)`` where each query is prompt +
response and each label is the dataset's ``--label_key`` column: an environment task id,
or JSON with ``task_id``. Scores go through the Flywheel service when ``FLYWHEEL_URL`` and
``FLYWHEEL_API_KEY`` are set, else through the in-process scorer.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from rewards.integrations.client import score_payloads
from rewards.integrations.protocol import openrlhf_answer, openrlhf_payloads


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any] | None = None,
                **kwargs: Any) -> dict[str, Any]:
    """``{"rewards": Tensor, "scores": Tensor, "extra_logs": {name: Tensor}}``, one entry per query."""
    document = {"query": list(queries), "prompts": list(prompts),
                "labels": list(labels) if labels is not None else None}
    payloads = openrlhf_payloads(document, max_batch=max(1, len(document["query"])))
    answer = openrlhf_answer(score_payloads(payloads))
    return {
        "rewards": torch.tensor(answer["rewards"], dtype=torch.float32),
        "scores": torch.tensor(answer["scores"], dtype=torch.float32),
        "extra_logs": {name: torch.tensor(values, dtype=torch.float32) for name, values in answer["extra_logs"].items()},
    }
