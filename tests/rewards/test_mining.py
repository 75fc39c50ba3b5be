"""Mining preferences from telemetry stored through the real ingestion path."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command

from rewards.core.signals import best_practice
from rewards.models import MinedCompletion
from rewards.services import preferences_mine
from telemetry.models import Event
from telemetry.services import events_ingest, organization_get_or_create
from tests.factories import make_event
from training.simulator import HashSplit, ReferenceResponder, SimulationConfig, simulate

pytestmark = pytest.mark.django_db


def simulate_into(org, *, sessions: int, seed: int, split: str = "train") -> list[dict]:
    """Play simulated users against the reference responder; store their events for ``org``."""
    stored: list[dict] = []

    def sink(record, json_events, otlp_events) -> None:
        result = events_ingest(org=org, events=json_events)
        assert result.accepted == len(json_events), result.rejected[:3]
        stored.extend(json_events)

    simulate(SimulationConfig(sessions=sessions, seed=seed, split=split), responder=ReferenceResponder(),
             assigner=HashSplit(["v1", "v2"]), sink=sink, keep_events=False)
    return stored


@pytest.fixture
def simulated_org(db):
    org = organization_get_or_create(slug="sim")
    org.content_capture = "full"
    org.save()
    events = simulate_into(org, sessions=120, seed=4)
    return org, events


def test_every_completion_is_scored_with_every_component(simulated_org):
    org, events = simulated_org
    dataset = preferences_mine(org=org)
    completions = [e for e in events if e["type"] == "llm.completion"]
    assert dataset.completions == len(completions) == MinedCompletion.objects.filter(org=org).count()
    assert dataset.completions_with_text == dataset.completions  # the org captures full text
    mined = MinedCompletion.objects.filter(org=org)
    for row in mined:
        values = row.components["values"]
        assert set(values) == {"retention_30s", "retention_2m", "retention_5m", "retention_10m", "retention_1h",
                               "accepted", "tool_errors", "tokens", "task_outcome", "feedback"}
        assert row.score == pytest.approx(sum(row.components["weighted"].values()))
        assert values["tokens"] is not None and values["task_outcome"] is not None
    # tool errors were joined to the completion that caused them (request_id)
    errors_by_request = Counter(e["payload"]["request_id"] for e in events if e["type"] == "tool.call" and e["payload"]["status"] == "error")
    for row in mined.filter(request_id__in=list(errors_by_request)):
        assert row.components["facts"]["tool_errors"] == errors_by_request[row.request_id]
    accepted = {e["payload"]["request_id"] for e in events if e["type"] == "suggestion.accepted"}
    assert accepted and all(row.components["facts"]["accepted"] for row in mined.filter(request_id__in=accepted))
    assert any(row.components["values"]["retention_1h"] is not None for row in mined.filter(request_id__in=accepted))


def test_pairs_are_ranked_deduplicated_and_split_by_prompt(simulated_org):
    org, _ = simulated_org
    dataset = preferences_mine(org=org)
    pairs = [json.loads(line) for line in (Path(dataset.path) / "pairs.jsonl").read_text().splitlines()]
    assert dataset.pairs_train > 20 and dataset.pairs_validation > 0 and dataset.ties_dropped > 0
    assert len(pairs) == dataset.pairs_train + dataset.pairs_validation
    splits_of: dict[str, set[str]] = {}
    for pair in pairs:
        splits_of.setdefault(pair["prompt_fingerprint"], set()).add(pair["split"])
        assert pair["margin"] >= 0.25 and pair["chosen"] != pair["rejected"]
    assert all(len(splits) == 1 for splits in splits_of.values())  # no prompt on both sides
    keys = [(p["prompt_fingerprint"], p["chosen"], p["rejected"]) for p in pairs]
    assert len(keys) == len(set(keys))
    scores = {row.request_id: row.score for row in MinedCompletion.objects.filter(org=org)}
    for pair in pairs:
        chosen = sum(scores[r] for r in pair["chosen_request_ids"]) / len(pair["chosen_request_ids"])
        rejected = sum(scores[r] for r in pair["rejected_request_ids"]) / len(pair["rejected_request_ids"])
        assert chosen - rejected == pytest.approx(pair["margin"], abs=1e-5)
    # where shell validity differs, what users did (tool errors) prefers the valid commands
    validity = [(best_practice(p["prompt"], p["chosen"]).commands_valid, best_practice(p["prompt"], p["rejected"]).commands_valid) for p in pairs]
    differing = [(c, r) for c, r in validity if c is not None and r is not None and c != r]
    assert differing and sum(c > r for c, r in differing) / len(differing) > 0.8


def test_exports_are_in_trl_and_openrlhf_formats(simulated_org):
    org, _ = simulated_org
    dataset = preferences_mine(org=org)
    root = Path(dataset.path)
    trl = [json.loads(line) for line in (root / dataset.files["trl_train"]).read_text().splitlines()]
    openrlhf = [json.loads(line) for line in (root / dataset.files["openrlhf_train"]).read_text().splitlines()]
    assert len(trl) == len(openrlhf) == dataset.pairs_train
    assert set(trl[0]) == {"prompt", "chosen", "rejected", "margin"}
    assert all(isinstance(record[key], str) for record in trl for key in ("prompt", "chosen", "rejected"))
    record = openrlhf[0]
    assert set(record) == {"prompt", "chosen", "rejected", "margin"}
    assert record["prompt"][0]["role"] == "user" and record["chosen"][0]["role"] == "assistant"
    assert record["chosen"][0]["content"] == trl[0]["chosen"]


def test_mining_is_incremental(simulated_org):
    org, events = simulated_org
    first = preferences_mine(org=org)
    assert first.events_scanned == len(events)
    second = preferences_mine(org=org)
    assert second.parent == first and second.events_scanned == 0
    assert (second.pairs_train, second.pairs_validation) == (first.pairs_train, first.pairs_validation)
    # new telemetry about one completion's task changes that completion only
    row = next(m for m in MinedCompletion.objects.filter(org=org).order_by("id") if m.components["facts"]["feedback"] is None)
    before = {m.request_id: m.score for m in MinedCompletion.objects.filter(org=org)}
    completion = Event.objects.get(org=org, type="llm.completion", payload__request_id=row.request_id)
    late = make_event("feedback", payload={"rating": "down"}, task_id=completion.task_id, session_id=completion.session_id,
                      version=completion.model_version)
    assert events_ingest(org=org, events=[late]).accepted == 1
    third = preferences_mine(org=org)
    assert third.events_scanned == 1 and third.watermark_event_id > second.watermark_event_id
    after = {m.request_id: m.score for m in MinedCompletion.objects.filter(org=org)}
    changed = {r for r in after if after[r] != before[r]}
    assert row.request_id in changed
    assert after[row.request_id] == pytest.approx(before[row.request_id] - 0.5)
    assert changed <= set(MinedCompletion.objects.filter(org=org, task_id=completion.task_id).values_list("request_id", flat=True))


def test_completions_without_text_score_but_never_pair(db):
    org = organization_get_or_create(slug="private")  # capture off (the default)
    simulate_into(org, sessions=30, seed=2)
    dataset = preferences_mine(org=org)
    assert dataset.completions > 0 and dataset.completions_with_text == 0
    assert dataset.pairs_train == dataset.pairs_validation == 0
    assert not MinedCompletion.objects.filter(org=org, prompt__isnull=False).exists()


def test_command_prints_the_snapshot_with_progress(simulated_org, capsys):
    org, _ = simulated_org
    call_command("mine_preferences", "--org", org.slug, "--json")
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["version"] == "sim-prefs-0001" and summary["pairs_train"] > 0
    assert "telemetry scanned" in captured.err and "completions scored" in captured.err


def test_command_refuses_an_unknown_org(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no organization 'nope'"):
        call_command("mine_preferences", "--org", "nope")


def test_reward_models_learn_what_users_preferred(db):
    """Mined from users of two versions answering the 138 eval tasks: what they kept, ranked."""
    from rewards.core.config import BaselineConfig, BradleyTerryConfig
    from rewards.services import reward_model_train

    org = organization_get_or_create(slug="learn")
    org.content_capture = "full"
    org.save()
    simulate_into(org, sessions=300, seed=9, split="eval")
    dataset = preferences_mine(org=org)
    baseline = reward_model_train(dataset=dataset, kind="baseline")
    length_paid = reward_model_train(dataset=dataset, kind="baseline", baseline_config=BaselineConfig(length_controlled=False))
    bt = reward_model_train(dataset=dataset, kind="bradley_terry", bradley_terry_config=BradleyTerryConfig(
        epochs=4, hidden_size=32, num_hidden_layers=1, max_length=192))
    print("mined", dataset.pairs_train, dataset.pairs_validation, length_paid.pairwise_accuracy,
          baseline.pairwise_accuracy, bt.pairwise_accuracy)
    assert baseline.validation_pairs == dataset.pairs_validation > 0
    assert length_paid.pairwise_accuracy > 0.7 and bt.pairwise_accuracy > 0.6
    # Length predicts some of these preferences; the length-controlled default gives that part
    # up (0.79 -> 0.67 on seed 9's 24 validation pairs) so that RL cannot buy reward with it.
    assert baseline.pairwise_accuracy > 0.6
