"""Same seed, same events and ground truth; everything it sends is valid schema-v1 telemetry."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from telemetry.schemas import event_validate
from training.simulator import HashSplit, SimulationConfig, ground_truth, simulate


def run(reference, **config):
    return simulate(SimulationConfig(**{"sessions": 40, **config}), responder=reference, assigner=HashSplit(["v1", "v2"]))


def test_same_seed_gives_identical_events_and_truth(reference):
    first, second = run(reference, seed=5), run(reference, seed=5)
    assert first.events == second.events
    assert first.truth == second.truth
    assert len({e["event_id"] for e in first.events}) == len(first.events)


def test_another_seed_gives_other_users_tasks_and_ids(reference):
    a, b = run(reference, seed=5), run(reference, seed=6)
    assert a.events != b.events
    assert not {e["event_id"] for e in a.events} & {e["event_id"] for e in b.events}
    assert {e["user"] for e in a.events} != {e["user"] for e in b.events}
    assert a.truth != b.truth


def test_another_start_is_new_data_with_the_same_behaviour(reference):
    a = run(reference, seed=5)
    later = run(reference, seed=5, start=a.config.start + timedelta(days=1))
    assert not {e["event_id"] for e in a.events} & {e["event_id"] for e in later.events}
    assert not {e["session_id"] for e in a.events} & {e["session_id"] for e in later.events}
    assert [e["type"] for e in a.events] == [e["type"] for e in later.events]
    assert a.truth == later.truth


def test_every_event_is_valid_and_carries_its_version(two_versions):
    events = two_versions.events
    assert [e for e in events if event_validate(e)] == []
    assert {e["model"]["version"] for e in events} == {"v1", "v2"}
    by_user = {}
    for e in events:  # the assignment is sticky per user
        by_user.setdefault(e["user"], set()).add(e["model"]["version"])
    assert all(len(versions) == 1 for versions in by_user.values())


def test_every_event_type_and_both_retention_reports_occur(two_versions):
    types = Counter(e["type"] for e in two_versions.events)
    assert set(types) == {
        "llm.usage", "llm.completion", "tool.call", "suggestion.shown", "suggestion.accepted", "suggestion.rejected",
        "code.retention", "task.finished", "feedback",
    }
    retention = [e["payload"] for e in two_versions.events if e["type"] == "code.retention"]
    assert any("current_content" in p for p in retention) and any("retained_chars" in p for p in retention)
    assert types["llm.usage"] == types["task.finished"]  # one request per task, every task finishes
    assert types["llm.completion"] == types["llm.usage"]  # each request's prompt and response


def test_outcomes_name_the_completion_that_caused_them(two_versions):
    completions = {e["payload"]["request_id"]: e for e in two_versions.events if e["type"] == "llm.completion"}
    for event in two_versions.events:
        if event["type"] in ("tool.call", "suggestion.shown", "suggestion.accepted", "suggestion.rejected", "llm.usage"):
            completion = completions[event["payload"]["request_id"]]
            assert completion["task_id"] == event["task_id"]
    suggestions = [e for e in two_versions.events if e["type"] == "suggestion.shown"]
    assert suggestions and all(
        e["payload"]["suggestion_id"] in completions[e["payload"]["request_id"]]["payload"]["suggestion_ids"] for e in suggestions
    )


def test_retention_checks_land_at_acceptance_plus_t(two_versions):
    from datetime import datetime

    accepted = {e["payload"]["suggestion_id"]: datetime.fromisoformat(e["ts"]) for e in two_versions.events if e["type"] == "suggestion.accepted"}
    checks = [e for e in two_versions.events if e["type"] == "code.retention"]
    assert len(checks) == 5 * len(accepted)
    for e in checks:
        elapsed = (datetime.fromisoformat(e["ts"]) - accepted[e["payload"]["suggestion_id"]]).total_seconds()
        assert abs(elapsed - e["payload"]["elapsed_s"]) < 0.01


def test_streamed_truth_equals_truth_recomputed_from_the_events(two_versions):
    recomputed = ground_truth(two_versions.events)
    for version, truth in two_versions.truth.items():
        for key, value in recomputed[version].items():
            if key not in {"sessions", "tasks", "unit_test_pass_rate"}:
                assert truth[key] == value, key


def test_the_simulator_package_never_imports_django():
    import subprocess
    import sys

    code = "import sys, training.simulator; assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'"
    from pathlib import Path

    subprocess.run([sys.executable, "-c", code], check=True, env={"PATH": "/usr/bin:/bin"}, cwd=Path(__file__).resolve().parents[3])


def test_deterministic_across_processes_and_hash_seeds(tmp_path):
    import hashlib
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import hashlib, json; from training.simulator import *; "
        "r = simulate(SimulationConfig(sessions=12, seed=77), responder=ReferenceResponder(), assigner=HashSplit(['v1', 'v2'])); "
        "print(hashlib.sha256(json.dumps([r.events, r.truth], sort_keys=True).encode()).hexdigest())"
    )
    digests = {
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": str(hash_seed)},
                       cwd=Path(__file__).resolve().parents[3]).stdout.strip()
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1
    from training.simulator import HashSplit, ReferenceResponder, SimulationConfig, simulate

    here = simulate(SimulationConfig(sessions=12, seed=77), responder=ReferenceResponder(), assigner=HashSplit(["v1", "v2"]))
    assert digests == {hashlib.sha256(json.dumps([here.events, here.truth], sort_keys=True).encode()).hexdigest()}
