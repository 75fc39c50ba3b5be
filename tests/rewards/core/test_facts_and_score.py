"""Per-completion facts joined on request_id, and the product score built from them."""
from __future__ import annotations

import pytest

from rewards.core.config import ProductScoreWeights
from rewards.core.facts import completion_facts
from rewards.core.product_score import COMPONENTS, product_score


def event(kind: str, task_id: str = "t1", **payload) -> dict:
    return {"type": kind, "task_id": task_id, "payload": payload}


COMPLETION = {
    "type": "llm.completion", "task_id": "t1", "session_id": "s", "model_version": "v2", "ts": "2026-01-01T00:00:00+00:00",
    "payload": {"request_id": "r1", "prompt_fingerprint": "sha256:p", "prompt": "Fix it.", "response": "$ ls",
                "suggestion_ids": ["s1"]},
}
RELATED = [
    event("llm.usage", request_id="r1", input_tokens=100, output_tokens=50, cache_read_tokens=10),
    event("llm.usage", request_id="r2", input_tokens=999, output_tokens=999),  # another completion
    event("tool.call", request_id="r1", tool="shell", status="error", error_kind="nonzero_exit"),
    event("tool.call", request_id="r1", tool="shell", status="success"),
    event("tool.call", request_id="r2", tool="shell", status="error", error_kind="timeout"),
    event("suggestion.accepted", suggestion_id="s1", lines=1, chars=10),
    event("code.retention", suggestion_id="s1", elapsed_s=35, retained_chars=10, total_chars=10),
    event("code.retention", suggestion_id="s1", elapsed_s=4000, retained_chars=4, total_chars=10),
    event("code.retention", suggestion_id="s2", elapsed_s=4000, retained_chars=0, total_chars=10),
    event("task.finished", outcome="success"),
    event("task.finished", outcome="failure"),  # a replayed finish: the first counts
    event("feedback", rating="down"),
    event("feedback", task_id="t2", rating="up"),
]


def test_facts_join_outcomes_to_the_completion_that_caused_them():
    facts = completion_facts(COMPLETION, RELATED)
    assert facts.tokens == 160 and (facts.tool_calls, facts.tool_errors) == (2, 1)
    assert facts.accepted is True and facts.retention == {"30s": 1.0, "1h": 0.4}
    assert facts.task_outcome == "success" and facts.feedback == -1.0
    assert facts.prompt == "Fix it." and facts.model_version == "v2"


def test_facts_do_not_depend_on_event_order():
    assert completion_facts(COMPLETION, RELATED) == completion_facts(COMPLETION, [*RELATED[5:], *RELATED[:5]])
    shuffled = RELATED[::-1]
    shuffled.remove(RELATED[10])  # keep the first finish first
    shuffled.insert(0, RELATED[9])
    assert completion_facts(COMPLETION, shuffled) == completion_facts(COMPLETION, RELATED)


def test_score_keeps_every_component_and_sums_the_weighted_ones():
    weights = ProductScoreWeights()
    score = product_score(completion_facts(COMPLETION, RELATED), weights)
    assert set(score.components) == set(COMPONENTS)
    assert score.components["retention_2m"] is None and "retention_2m" not in score.weighted
    assert score.components["tool_errors"] == -0.5 and score.components["tokens"] == pytest.approx(-160 / 2000)
    expected = 0.1 * 1.0 + 0.3 * 0.4 + 1.0 + 0.75 * -0.5 + 0.25 * (-160 / 2000) + 1.0 + 0.5 * -1.0
    assert score.total == pytest.approx(expected)


def test_weights_come_from_config():
    facts = completion_facts(COMPLETION, RELATED)
    heavy = product_score(facts, ProductScoreWeights(feedback=10.0))
    assert heavy.total == pytest.approx(product_score(facts, ProductScoreWeights()).total - 9.5 * 1.0)


def test_a_completion_nobody_reacted_to_scores_zero():
    score = product_score(completion_facts(COMPLETION, []), ProductScoreWeights())
    assert score.total == 0 and all(value is None for value in score.components.values())


def test_a_prompt_and_its_answer_sent_apart_merge_into_one_completion():
    from rewards.core.facts import completion_merge

    prompt_part = {**COMPLETION, "payload": {"request_id": "r1", "prompt": "Fix it.", "prompt_fingerprint": "sha256:p", "prompt_chars": 7}}
    request_part = {**COMPLETION, "payload": {"request_id": "r1", "prompt": "[history]", "prompt_fingerprint": "sha256:h", "prompt_chars": 9}}
    answer_part = {**COMPLETION, "payload": {"request_id": "r1", "response": "$ ls", "response_fingerprint": "sha256:r",
                                              "finish_reason": "STOP", "suggestion_ids": ["s1"]}}
    merged = completion_merge([prompt_part, request_part, answer_part])
    assert merged["payload"] == {"request_id": "r1", "prompt": "Fix it.", "prompt_fingerprint": "sha256:p", "prompt_chars": 7,
                                 "response": "$ ls", "response_fingerprint": "sha256:r", "finish_reason": "STOP", "suggestion_ids": ["s1"]}
    facts = completion_facts(merged, RELATED)
    assert facts.has_text and facts.prompt_fingerprint == "sha256:p" and facts.accepted is True
    only_answer = completion_facts(completion_merge([answer_part]), [])
    assert only_answer.prompt_fingerprint == "" and not only_answer.has_text
