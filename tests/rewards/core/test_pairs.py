"""Preference pairs over one prompt fingerprint: margins, ties, duplicates, the split."""
from __future__ import annotations

from rewards.core.config import MiningConfig
from rewards.core.pairs import ScoredCompletion, preference_pairs, prompt_split


def answer(request_id: str, response: str, score: float, prompt: str = "p1") -> ScoredCompletion:
    return ScoredCompletion(request_id=request_id, prompt_fingerprint=f"fp-{prompt}", prompt=prompt, response=response, score=score)


def test_higher_score_is_chosen_with_the_gap_as_margin():
    pairing = preference_pairs([answer("a", "good", 1.5), answer("b", "bad", -0.5)], MiningConfig())
    [pair] = pairing.pairs
    assert (pair.chosen, pair.rejected, pair.margin) == ("good", "bad", 2.0)
    assert pair.chosen_request_ids == ("a",) and pair.rejected_request_ids == ("b",)


def test_ties_below_the_minimum_margin_are_dropped():
    pairing = preference_pairs([answer("a", "x", 1.0), answer("b", "y", 0.9), answer("c", "z", 0.0)], MiningConfig(min_margin=0.25))
    assert [(p.chosen, p.rejected) for p in pairing.pairs] == [("x", "z"), ("y", "z")]
    assert pairing.ties_dropped == 1


def test_repeated_answers_are_one_answer_with_the_mean_score():
    completions = [answer("a", "same", 1.0), answer("b", "same", 2.0), answer("c", "other", 0.0)]
    pairing = preference_pairs(completions, MiningConfig())
    [pair] = pairing.pairs
    assert pair.margin == 1.5 and pair.chosen_request_ids == ("a", "b") and pairing.duplicates_merged == 1


def test_only_the_same_prompt_pairs():
    pairing = preference_pairs([answer("a", "x", 1.0, "p1"), answer("b", "y", -1.0, "p2")], MiningConfig())
    assert pairing.pairs == [] and pairing.groups == 0


def test_split_is_by_prompt_group_and_stable():
    config = MiningConfig(validation_share=0.3)
    completions = [answer(f"{p}-{k}", f"r{k}", float(k), prompt=f"prompt {p}") for p in range(200) for k in range(3)]
    pairs = preference_pairs(completions, config).pairs
    by_prompt: dict[str, set[str]] = {}
    for pair in pairs:
        by_prompt.setdefault(pair.prompt_fingerprint, set()).add(pair.split)
    assert all(len(splits) == 1 for splits in by_prompt.values())
    held_out = sum("validation" in s for s in by_prompt.values()) / len(by_prompt)
    assert 0.2 < held_out < 0.4
    assert prompt_split("fp-x", validation_share=0.3, seed="s") == prompt_split("fp-x", validation_share=0.3, seed="s")


def test_pairs_per_prompt_are_capped_by_largest_margin():
    completions = [answer(str(k), f"r{k}", float(k)) for k in range(10)]
    pairs = preference_pairs(completions, MiningConfig(max_pairs_per_prompt=3)).pairs
    assert [p.margin for p in pairs] == [9.0, 8.0, 8.0]
